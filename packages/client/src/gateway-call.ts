import { problemSchema } from '@rag/contracts/public-api';
import type { z } from 'zod';
import type { MultipartBody } from './multipart-body.js';
import { RagApiError } from './rag-api-error.js';
import { type RetryOptions, retryableStatuses, retryDelayMs, retrySettings } from './retry-policy.js';
import { browserXhr, type HttpAnswer, sendWithProgress } from './xhr-upload.js';

/** What the gateway answered, for callers that read headers such as Server-Timing or the request id. */
export interface AnswerInfo {
  method: string;
  path: string;
  status: number;
  header(name: string): string | null;
}

export interface RagClientOptions {
  /** The gateway, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /**
   * The bearer credential: an API key or a JWT. A function is asked before every request, for a token that
   * is refreshed while the client lives (an OpenID access token).
   */
  apiKey: string | (() => string);
  fetch?: typeof globalThis.fetch;
  /** Per request; 30 s when left out (uploads: per try, and at least long enough for 1 MB/s). */
  timeoutMs?: number;
  /** How 429 and 503 answers are tried again (after Retry-After, with jitter, bounded). */
  retry?: RetryOptions;
  /** For tests: how the client waits between tries. */
  sleep?: (ms: number) => Promise<void>;
  /** Called with every answer the gateway gives (successes and problems alike). */
  onAnswer?: (answer: AnswerInfo) => void;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A JSON body, or an upload that can be streamed again for each try. */
export type Body =
  | { json: unknown }
  | { upload: MultipartBody; onProgress?: (sent: number, total: number) => void }
  | { form: FormData; onProgress?: (sent: number, total: number) => void };

/**
 * One call to the gateway: the request (JSON, streamed upload or form), its deadline, tries again after 429 and
 * 503, and the answer checked against its schema. Failures are `RagApiError`s.
 */
export function createGatewayCall(options: RagClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const retry = retrySettings(options.retry);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));

  async function call<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body?: Body,
  ): Promise<{ status: number; data: z.infer<S> }> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await callOnce(method, path, schema, body);
      if ('data' in outcome) return outcome;
      const turnedAway = retryableStatuses.has(outcome.error.status);
      if (!turnedAway || attempt >= retry.attempts) throw outcome.error;
      await sleep(retryDelayMs(attempt, outcome.retryAfter, retry));
    }
  }

  async function callOnce<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body: Body | undefined,
  ): Promise<{ status: number; data: z.infer<S> } | { error: RagApiError; retryAfter: string | null }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${typeof options.apiKey === 'function' ? options.apiKey() : options.apiKey}`,
      accept: 'application/json',
    };
    let payload: RequestInit['body'] = null;
    // An upload may take longer than a small call: allow at least 1 MB/s for its bytes.
    let deadlineMs = timeoutMs;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body && 'form' in body) {
      // The runtime writes the multipart content type with its boundary.
      payload = body.form;
      deadlineMs = Math.max(timeoutMs, formBytes(body.form) / 1000);
    } else if (body) {
      const { upload, onProgress } = body;
      headers['content-type'] = upload.contentType;
      headers['content-length'] = String(upload.contentLength);
      payload = upload.open((sent) =>
        onProgress?.(sent, upload.contentLength),
      ) as unknown as RequestInit['body'];
      deadlineMs = Math.max(timeoutMs, upload.contentLength / 1000);
    }
    let response: HttpAnswer;
    let text: string;
    try {
      if (body && 'form' in body && body.onProgress && browserXhr()) {
        response = await sendWithProgress(
          method,
          `${base}${path}`,
          headers,
          body.form,
          deadlineMs,
          body.onProgress,
        );
      } else {
        const fetched = await fetchImpl(`${base}${path}`, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(deadlineMs),
          // Undici needs this for a streamed body.
          ...(body && 'upload' in body ? { duplex: 'half' } : {}),
        } as RequestInit);
        response = {
          status: fetched.status,
          ok: fetched.ok,
          header: (name) => fetched.headers.get(name),
          text: () => fetched.text(),
        };
        if (body && 'form' in body) {
          const total = formBytes(body.form);
          body.onProgress?.(total, total);
        }
      }
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new RagApiError({
        status: 0,
        code: timedOut ? 'timeout' : 'network',
        detail: timedOut
          ? `${method} ${path}: no answer from ${base} within ${deadlineMs} ms`
          : `${method} ${path}: cannot reach ${base}: ${describeCause(error)}`,
        cause: error,
      });
    }
    options.onAnswer?.({ method, path, status: response.status, header: response.header });
    const requestId = response.header('x-request-id') ?? undefined;
    const json = parseJson(text);
    if (!response.ok) {
      return {
        error: problemError(method, path, response.status, json, text, requestId),
        retryAfter: response.header('retry-after'),
      };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // A response that does not match the contract means client and gateway disagree: say so loudly.
      throw new RagApiError({
        status: response.status,
        code: 'unexpected_response',
        detail: `${method} ${path} answered a body that does not match the public API contract`,
        requestId,
        errors: parsed.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
        cause: parsed.error,
      });
    }
    return { status: response.status, data: parsed.data };
  }

  async function request<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    json?: unknown,
  ): Promise<z.infer<S>> {
    return (await call(method, path, schema, json === undefined ? undefined : { json })).data;
  }

  return { call, request, sleep };
}

/** The size of a form's parts, for progress and the upload deadline (the boundaries aside). */
function formBytes(form: FormData): number {
  let bytes = 0;
  for (const [, value] of form) bytes += typeof value === 'string' ? value.length : value.size;
  return bytes;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemError(
  method: Method,
  path: string,
  status: number,
  json: unknown,
  text: string,
  headerRequestId: string | undefined,
): RagApiError {
  const problem = problemSchema.safeParse(json);
  if (problem.success) {
    return new RagApiError({
      status,
      code: problem.data.code,
      detail: problem.data.detail,
      requestId: problem.data.request_id,
      errors: problem.data.errors,
    });
  }
  // Not problem+json (a proxy in front of the gateway, say): keep what it said.
  const excerpt = text.trim().slice(0, 300);
  return new RagApiError({
    status,
    code: `http_${status}`,
    detail: `${method} ${path} failed with HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`,
    requestId: headerRequestId,
  });
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the reason (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message} (${cause.message})`;
  return error.message;
}
