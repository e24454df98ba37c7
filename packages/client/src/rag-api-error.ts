/** One field-level problem of a validation error, as the gateway lists it in `errors`. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Codes the client produces itself, next to the gateway's own codes (`not_found`, `validation_failed`, ...):
 * `network` when no answer came, `timeout` when none came in time (or a document never reached the awaited
 * status), `unexpected_response` when an answer does not match the public contract.
 */
export type ClientErrorCode = 'network' | 'timeout' | 'unexpected_response';

export interface RagApiErrorInit {
  /** The HTTP status; 0 when no HTTP answer came. */
  status: number;
  code: string;
  detail: string;
  requestId?: string | undefined;
  errors?: FieldProblem[] | undefined;
  cause?: unknown;
}

/**
 * Every failure of a client call: the RFC 9457 problem the gateway answered, or a client-side failure with
 * one of the `ClientErrorCode`s. Check it with `isRagApiError` rather than `instanceof`, which fails when
 * the package is loaded twice.
 */
export class RagApiError extends Error {
  readonly isRagApiError = true as const;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** The gateway's request id, to find the call in its logs; absent when no answer came. */
  readonly requestId: string | undefined;
  readonly errors: FieldProblem[];

  constructor(init: RagApiErrorInit) {
    super(
      init.status > 0 ? `${init.detail} (${init.status} ${init.code})` : `${init.detail} (${init.code})`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = 'RagApiError';
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.requestId = init.requestId;
    this.errors = init.errors ?? [];
  }
}

export function isRagApiError(value: unknown): value is RagApiError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isRagApiError?: unknown }).isRagApiError === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
