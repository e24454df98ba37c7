import { type AppError, type ErrorCode, errorCodes } from './app-error.js';

/**
 * What a tenant may read about a failure. Errors with a 4xx code describe the caller's own request or
 * document ("the PDF is encrypted", "document exceeds the pages limit of 2000") and keep their message.
 * Every other code is a failure on our side, whose message may name PostgreSQL, Milvus, a service URL or a
 * file path: the tenant gets a fixed message for the code, and the raw cause is logged under the request or
 * job id that the caller is told to quote.
 */
const internalMessages = {
  dependency_unavailable: 'A service this request needs is unavailable; try again later',
  shutting_down: 'The service is shutting down; try again',
  timeout: 'A service this request needs did not answer in time; try again later',
  model_error: 'The embedding model failed on our side',
  internal: 'The request failed on our side',
} as const satisfies Partial<Record<ErrorCode, string>>;

export interface PublicError {
  code: ErrorCode;
  message: string;
}

/** Whether the message is about the caller's own input and may be shown as it is. */
export function isCallerError(code: ErrorCode): boolean {
  return errorCodes[code].status < 500;
}

/** The code and a message safe to show the tenant; `reference` ("request id …", "job …") finds the logs. */
export function publicError(error: AppError, reference: string): PublicError {
  if (isCallerError(error.code)) return { code: error.code, message: error.message };
  const message = internalMessages[error.code as keyof typeof internalMessages] ?? internalMessages.internal;
  return { code: error.code, message: `${message}; quote ${reference} when reporting it.` };
}

/**
 * One line for fields that hold a failure as text (a document's `error`, `document.failed` events):
 * the stable code, a colon, the safe message.
 */
export function publicErrorText(error: AppError, reference: string): string {
  const { code, message } = publicError(error, reference);
  return `${code}: ${message}`;
}
