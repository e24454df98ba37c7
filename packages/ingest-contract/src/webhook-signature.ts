import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Completion webhooks are signed: `x-rag-signature: sha256=<hex>` is HMAC-SHA256, keyed with the tenant's
 * secret, over `<x-rag-timestamp>.<raw body>`. Receivers recompute it over the raw bytes they got and
 * reject old timestamps, so a captured delivery cannot be replayed later.
 */
export const signatureHeader = 'x-rag-signature';
export const timestampHeader = 'x-rag-timestamp';
export const eventIdHeader = 'x-rag-event-id';

export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `sha256=${digest}`;
}

/** For receivers: true when the signature matches and the timestamp is within the tolerance. */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  rawBody: string,
  options: { toleranceSec?: number; nowSec?: number } = {},
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(timestamp)) return false;
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signWebhookBody(secret, timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
