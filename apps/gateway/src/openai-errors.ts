import type { AppError, ErrorCode } from '@rag/contracts/app-error';
import type { OpenAiError } from '@rag/contracts/openai-embeddings';
import { publicError } from '@rag/contracts/public-error';
import { requestError } from '@rag/http/service-app';
import type { ErrorRequestHandler } from 'express';

/**
 * Errors on the OpenAI-compatible routes in OpenAI's shape, `{error: {message, type, param, code}}`, which OpenAI
 * clients turn into their exceptions; the status is the one the rest of the API gives for the same failure.
 * Authentication, rate limits and guards run before these routes, so this handler catches their errors too.
 */
export function openAiErrorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = requestError(error);
    if (appError.status >= 500) {
      req.log.error({ err: error, code: appError.code, context: appError.context }, 'request failed');
    }
    if (res.headersSent) return;
    if (appError.status === 503 && appError.retryable && !res.getHeader('retry-after')) {
      res.setHeader('retry-after', String(appError.context.retryAfterSeconds ?? 5));
    }
    res.status(appError.status).json(openAiError(appError, req.id));
  };
}

// OpenAI's own error types; its clients pick the exception class by the status, its users read the type.
const openAiTypes: Partial<Record<ErrorCode, string>> = {
  unauthenticated: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'invalid_request_error',
  rate_limited: 'rate_limit_error',
};

// The codes OpenAI gives for the same failures, so code written against OpenAI recognises them.
const openAiCodes: Partial<Record<ErrorCode, string>> = {
  unauthenticated: 'invalid_api_key',
  forbidden: 'insufficient_permissions',
  rate_limited: 'rate_limit_exceeded',
};

export function openAiError(error: AppError, requestId: string): OpenAiError {
  const { message } = publicError(error, `request id ${requestId}`);
  const modelMissing = error.code === 'not_found' && typeof error.context.model === 'string';
  return {
    error: {
      message,
      type: openAiTypes[error.code] ?? (error.status < 500 ? 'invalid_request_error' : 'server_error'),
      param: modelMissing ? 'model' : offendingParam(error),
      code: modelMissing ? 'model_not_found' : (openAiCodes[error.code] ?? error.code),
    },
  };
}

/** The first field a validation failure names (`input`, `dimensions`), as OpenAI's `param`. */
function offendingParam(error: AppError): string | null {
  const issues = error.context.issues;
  if (!Array.isArray(issues)) return null;
  const path = (issues[0] as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string' || path === '(root)') return null;
  return path.split('.')[0] ?? null;
}
