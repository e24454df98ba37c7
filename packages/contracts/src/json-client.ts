import type { z } from 'zod';
import { AppError, type ErrorCode, errorCodes } from './app-error.js';

export interface JsonClientOptions {
  baseUrl: string;
  /** Name of the remote service, used in error messages. */
  service: string;
  timeoutMs: number;
  /** Sent as x-service-token, which internal services require. */
  serviceToken: string;
}

/**
 * A small JSON-over-HTTP client for calls between our services. A problem+json answer becomes an AppError
 * with the remote code, so a 4xx from a downstream service stays a 4xx; a network failure or a 5xx is a
 * retryable `dependency_unavailable`.
 */
export function createJsonClient(options: JsonClientOptions) {
  const base = options.baseUrl.replace(/\/$/, '');

  async function request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body: unknown,
    call: CallOptions,
  ): Promise<z.infer<S>> {
    let response: Response;
    try {
      response = await send(method, path, body);
    } catch (error) {
      // A graceful restart of the remote closes its idle keep-alive connections; a request that was sent
      // on one of them never reached a handler. An idempotent call goes again once, on a fresh connection.
      if (!call.idempotent || !isConnectionReset(error)) throw unreachable(error, path);
      try {
        response = await send(method, path, body);
      } catch (again) {
        throw unreachable(again, path);
      }
    }
    const text = await response.text();
    if (!response.ok) throw remoteError(options.service, path, response.status, text);
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new AppError('internal', `${options.service} answered ${path} with an unexpected shape`, {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  function send(method: 'GET' | 'POST', path: string, body: unknown): Promise<Response> {
    return fetch(`${base}${path}`, {
      method,
      headers: {
        'x-service-token': options.serviceToken,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  }

  function unreachable(error: unknown, path: string): AppError {
    const timedOut = (error as Error).name === 'TimeoutError';
    return new AppError(
      timedOut ? 'timeout' : 'dependency_unavailable',
      `${options.service} ${timedOut ? `did not answer within ${options.timeoutMs} ms` : `is unreachable: ${(error as Error).message}`}`,
      { cause: error, retryable: true, context: { service: options.service, path } },
    );
  }

  return {
    get: <S extends z.ZodType>(path: string, schema: S, call: CallOptions = { idempotent: true }) =>
      request('GET', path, schema, undefined, call),
    post: <S extends z.ZodType>(path: string, body: unknown, schema: S, call: CallOptions = {}) =>
      request('POST', path, schema, body, call),
  };
}

export interface CallOptions {
  /** The call may run twice without harm (a read, a search): it is retried once on a reset connection. */
  idempotent?: boolean;
}

/** Codes of a connection the other side closed or reset under a request (Node's fetch puts them in `cause`). */
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function isConnectionReset(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' && resetCodes.has(cause.code);
}

export type JsonClient = ReturnType<typeof createJsonClient>;

function remoteError(service: string, path: string, status: number, body: string): AppError {
  let problem: { code?: string; detail?: string } | undefined;
  try {
    problem = JSON.parse(body) as { code?: string; detail?: string };
  } catch {
    // Not problem+json: the raw text goes into the message, for the logs.
  }
  const context = { service, path, status };
  // A 4xx problem from one of our services answers the caller's own input and is already worded for the
  // caller: its code and detail pass on as they are, without this hop's service name and path.
  if (status < 500 && problem?.code && problem.code in errorCodes && typeof problem.detail === 'string') {
    return new AppError(problem.code as ErrorCode, problem.detail, {
      retryable: status === 429,
      context,
    });
  }
  const detail = problem?.detail ?? body.slice(0, 500);
  // Anything else is a failure on our side (a 5xx, or a 4xx that is not our problem+json: a contract bug).
  return new AppError(
    status >= 500 ? 'dependency_unavailable' : 'internal',
    `${service} ${path} failed (${status}): ${detail}`,
    { retryable: status >= 500 || status === 429, context },
  );
}
