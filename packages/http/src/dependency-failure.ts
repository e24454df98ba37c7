import { AppError, isAppError } from '@rag/contracts/app-error';

/**
 * Recognises a failure of a dependency (PostgreSQL, object storage) in anything thrown, so that an outage
 * answers 503 with Retry-After instead of 500 wherever the error came from: routes and repositories let
 * driver errors pass, and this one classification, used by the problem handler, decides.
 */

/** Socket-level codes: the server is down, restarting or unreachable. */
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server going away or refusing work for now: class 08 (connection exception),
 * 57014 (statement_timeout cancelled the query), 57P01-57P03 (admin/crash shutdown, cannot connect now),
 * 53300 (too many connections).
 */
const postgresCodes = /^(08\d{3}|57014|57P0[1-3]|53300)$/;

/** node-postgres reports a lost or hung server with plain messages, without a code. */
const postgresMessages =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/i;

/** Writes refused by the disk under object storage: read-only, no permission, full. */
const storageWriteCodes = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);
const fileSystemCalls = new Set([
  'open',
  'write',
  'writev',
  'mkdir',
  'rename',
  'copyfile',
  'unlink',
  'rmdir',
  'fsync',
  'close',
  'ftruncate',
  'utime',
  'chmod',
]);

function describesOutage(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, syscall, message } = error as { code?: unknown; syscall?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (connectionCodes.has(code) || postgresCodes.test(code)) return true;
    // Only file-system calls: the same codes from elsewhere (a process signal) are not storage.
    if (storageWriteCodes.has(code) && typeof syscall === 'string' && fileSystemCalls.has(syscall))
      return true;
    // A recursive mkdir (storage making an object's folder) reports a read-only file system as ENOENT.
    if (code === 'ENOENT' && syscall === 'mkdir') return true;
  }
  return typeof message === 'string' && postgresMessages.test(message);
}

/** The errors behind this one: its cause chain and, for an AggregateError (dual-stack connect), its parts. */
function* causes(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const pending = [error];
  while (pending.length > 0) {
    const next = pending.shift();
    if (next === undefined || next === null || seen.has(next) || seen.size > 16) continue;
    seen.add(next);
    yield next;
    if (typeof next === 'object') {
      pending.push((next as { cause?: unknown }).cause);
      if (next instanceof AggregateError) pending.push(...next.errors);
    }
  }
}

/**
 * A retryable `dependency_unavailable` AppError when `error` (or an error it wraps) is a dependency outage;
 * undefined otherwise. An AppError other than `internal` already says what happened and is left alone.
 */
export function dependencyFailure(error: unknown): AppError | undefined {
  if (isAppError(error) && error.code !== 'internal') return undefined;
  for (const candidate of causes(error)) {
    if (describesOutage(candidate)) {
      return new AppError(
        'dependency_unavailable',
        `A dependency is unavailable: ${String((candidate as Error).message ?? candidate)}`,
        {
          cause: error,
        },
      );
    }
  }
  return undefined;
}
