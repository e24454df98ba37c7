import { z } from 'zod';

/** Public API shapes of the tenant's completion webhook. */

/** The tenant's completion webhook: each `document.ready` / `document.failed` event, signed with the secret. */
export const setWebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  secret: z.string().min(16, 'use a secret of at least 16 characters').max(256),
});

export const webhookSchema = z.object({ url: z.string(), updated_at: z.string() });

/** The outcome of a test event sent to the tenant's webhook: what the receiver answered, if anything. */
export const webhookTestSchema = z.object({
  url: z.string(),
  event_id: z.string(),
  /** True when the receiver answered 2xx. */
  delivered: z.boolean(),
  /** The receiver's HTTP status; null when it could not be reached. */
  status: z.number().int().nullable(),
  detail: z.string(),
});
