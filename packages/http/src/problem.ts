import { type AppError, errorCodes } from '@rag/contracts/app-error';
import { publicError } from '@rag/contracts/public-error';

/** RFC 9457 problem details, with our error code and the request id as extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  request_id: string;
  errors?: unknown;
}

export const problemContentType = 'application/problem+json';

export function problemFromError(error: AppError, requestId: string, instance?: string): Problem {
  const { status, title } = errorCodes[error.code];
  // A 5xx says nothing about internals (hosts, SQL, Milvus reasons): a fixed message per code, and the
  // request id that finds the logged cause.
  const detail = publicError(error, `request id ${requestId}`).message;
  const problem: Problem = {
    type: `urn:rag:problem:${error.code}`,
    title,
    status,
    detail,
    code: error.code,
    request_id: requestId,
  };
  if (instance !== undefined) problem.instance = instance;
  if (status < 500 && error.context.issues !== undefined) problem.errors = error.context.issues;
  return problem;
}
