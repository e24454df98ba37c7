/**
 * The one error type of the system. Every failure that crosses a module boundary is an AppError with a
 * code from this union; HTTP layers map codes to statuses, workers map `retryable` to BullMQ retries.
 */
export const errorCodes = {
  bad_request: { status: 400, title: 'Bad request', retryable: false },
  validation_failed: { status: 422, title: 'Validation failed', retryable: false },
  payload_too_large: { status: 413, title: 'Payload too large', retryable: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', retryable: false },
  unauthenticated: { status: 401, title: 'Unauthenticated', retryable: false },
  forbidden: { status: 403, title: 'Forbidden', retryable: false },
  not_found: { status: 404, title: 'Not found', retryable: false },
  method_not_allowed: { status: 405, title: 'Method not allowed', retryable: false },
  conflict: { status: 409, title: 'Conflict', retryable: false },
  rate_limited: { status: 429, title: 'Too many requests', retryable: true },
  dependency_unavailable: { status: 503, title: 'Dependency unavailable', retryable: true },
  shutting_down: { status: 503, title: 'Shutting down', retryable: true },
  timeout: { status: 504, title: 'Upstream timeout', retryable: true },
  model_error: { status: 500, title: 'Model error', retryable: false },
  internal: { status: 500, title: 'Internal error', retryable: false },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  context?: Record<string, unknown>;
  cause?: unknown;
  retryable?: boolean;
}

export class AppError extends Error {
  /** Checked by `isAppError` instead of `instanceof`, which fails when a package is loaded twice. */
  readonly isAppError = true as const;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? errorCodes[code].retryable;
    this.context = options.context ?? {};
  }

  get status(): number {
    return errorCodes[this.code].status;
  }
}

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isAppError?: unknown }).isAppError === true &&
    typeof (value as { code?: unknown }).code === 'string' &&
    (value as { code: string }).code in errorCodes
  );
}

/** Wraps anything thrown into an AppError, keeping an AppError as it is. */
export function toAppError(value: unknown, fallback: ErrorCode = 'internal'): AppError {
  if (isAppError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AppError(fallback, message, { cause: value });
}
