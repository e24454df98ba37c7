import { AppError } from '@rag/contracts/app-error';
import type { ResStatus } from '@zilliz/milvus2-sdk-node';

/**
 * Runs one SDK call and turns every way it can fail into AppError('dependency_unavailable'). The SDK
 * reports server errors in a status field instead of throwing, some methods throw the status object
 * itself, and a server that does not implement a call (Milvus Lite) answers an empty "success" without
 * any status. So a response only counts as a success when it carries a status that says so.
 */

export interface MilvusCallOptions {
  /** Context attached to the error (collection name, ...). */
  context?: Record<string, unknown>;
  /** Statuses the caller handles itself, e.g. "index does not exist" when listing indexes. */
  accept?: (status: ResStatus) => boolean;
}

export async function milvusCall<T extends object>(
  operation: string,
  request: () => Promise<T>,
  options: MilvusCallOptions = {},
): Promise<T> {
  const context = { operation, ...options.context };
  let response: T;
  try {
    response = await request();
  } catch (error) {
    throw new AppError('dependency_unavailable', `Milvus ${operation} failed: ${describeThrown(error)}`, {
      context,
      cause: error,
      retryable: true,
    });
  }
  const status = statusOf(response);
  if (status === undefined) {
    throw new AppError('dependency_unavailable', `Milvus ${operation} answered without a status`, {
      context,
      retryable: true,
    });
  }
  if (!isSuccess(status) && !options.accept?.(status)) {
    throw new AppError('dependency_unavailable', `Milvus ${operation} failed: ${describeStatus(status)}`, {
      context: { ...context, errorCode: status.error_code, code: status.code },
      retryable: true,
    });
  }
  return response;
}

export function isSuccess(status: ResStatus): boolean {
  // Newer servers put the outcome in `code`, older ones only in the `error_code` enum; both must agree.
  const errorCodeOk = status.error_code === 'Success' || status.error_code === 0;
  return errorCodeOk && (status.code === undefined || status.code === 0);
}

/** Milvus answers DescribeIndex on a field or collection without indexes with this error. */
export function isIndexNotFound(status: ResStatus): boolean {
  return status.code === 700 || status.error_code === 'IndexNotExist' || status.error_code === 25;
}

function statusOf(response: object): ResStatus | undefined {
  if (isStatus(response)) return response;
  const nested = (response as { status?: unknown }).status;
  return isStatus(nested) ? nested : undefined;
}

function isStatus(value: unknown): value is ResStatus {
  return typeof value === 'object' && value !== null && 'error_code' in value;
}

function describeStatus(status: ResStatus): string {
  const reason =
    typeof status.reason === 'string' && status.reason !== '' ? status.reason : 'no reason given';
  return `${reason} (error_code ${String(status.error_code)}, code ${String(status.code ?? 'none')})`;
}

function describeThrown(error: unknown): string {
  if (isStatus(error)) return describeStatus(error);
  if (error instanceof Error) return error.message;
  return String(error);
}
