/**
 * When a call that the gateway turned away is sent again. 429 (rate limited) and 503 (a dependency is down or
 * the service is draining) mean the request was not carried out, so sending it again is safe for every route,
 * writes included: the gateway takes a document back when it could not queue it, and the same content under
 * the same external_id is a no-op.
 */
export interface RetryOptions {
  /** Tries in all, the first included; 8 when left out. 1 turns retries off. */
  attempts?: number;
  /** The longest single wait, whatever Retry-After says; 60 s when left out. */
  maxDelayMs?: number;
  /** The first wait when the answer names none; it doubles with each try. 500 ms when left out. */
  baseDelayMs?: number;
}

export const retryableStatuses: ReadonlySet<number> = new Set([429, 503]);

const defaults = { attempts: 8, maxDelayMs: 60_000, baseDelayMs: 500 };

export function retrySettings(options: RetryOptions = {}): Required<RetryOptions> {
  return {
    attempts: Math.max(1, options.attempts ?? defaults.attempts),
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    baseDelayMs: options.baseDelayMs ?? defaults.baseDelayMs,
  };
}

/**
 * The wait before try number `attempt + 1`. A Retry-After the server sent is a floor (seconds or an HTTP
 * date); up to a quarter more is added at random so that clients turned away together do not come back
 * together. Without one, exponential backoff with full jitter.
 */
export function retryDelayMs(
  attempt: number,
  retryAfter: string | null,
  settings: Required<RetryOptions>,
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  const asked = parseRetryAfter(retryAfter, now);
  const delay =
    asked === undefined ? random() * settings.baseDelayMs * 2 ** (attempt - 1) : asked * (1 + random() / 4);
  return Math.min(settings.maxDelayMs, Math.max(0, Math.round(delay)));
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
