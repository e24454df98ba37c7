import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { eventIdHeader, signatureHeader, signWebhookBody, timestampHeader } from './webhook-signature.js';
import { pinnedLookup, type WebhookTarget } from './webhook-target.js';

/** POSTs an event as JSON, signed with the tenant's secret the way receivers verify it; answers the status. */
export function postSignedEvent(
  target: WebhookTarget,
  secret: string,
  event: { id: string },
  timeoutMs: number,
): Promise<number> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  return postWebhook(
    target,
    {
      'content-type': 'application/json',
      [signatureHeader]: signWebhookBody(secret, timestamp, body),
      [timestampHeader]: String(timestamp),
      [eventIdHeader]: event.id,
    },
    body,
    timeoutMs,
  );
}

/**
 * POSTs a webhook body to a checked target and answers the response status. The connection goes to the
 * address the target check resolved (no second DNS query a rebinding name could answer differently);
 * TLS still verifies the certificate against the host name. Redirects are not followed: a 3xx is an answer
 * like any other, so a receiver cannot bounce the request to an internal address.
 */
export function postWebhook(
  target: WebhookTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<number> {
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(timeoutMs),
        // A fresh connection each time: a pooled socket would skip the lookup, pinned or not.
        agent: false,
        ...(target.address ? { lookup: pinnedLookup(target.address) } : {}),
      },
      (response) => {
        // The body is not read: only the status matters, and a receiver may not make the worker buffer.
        response.destroy();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
