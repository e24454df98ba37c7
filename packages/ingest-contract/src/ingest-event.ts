import { tenantIdSchema, uuidSchema } from '@rag/contracts/identifiers';
import { z } from 'zod';

/**
 * Completion events: when a document becomes `ready` or `failed`, one of these goes onto the BullMQ queue
 * `ingest-events` (job name = the event type) and, if the tenant configured a webhook, to its URL as the
 * JSON body. Delivery is at least once: consumers deduplicate on `id`.
 */
export const ingestEventsQueueName = 'ingest-events';

export const ingestEventTypes = ['document.ready', 'document.failed'] as const;

export const ingestEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1).describe('Unique per document version and outcome'),
  type: z.enum(ingestEventTypes),
  at: z.iso.datetime(),
  tenantId: tenantIdSchema,
  collection: z.string(),
  collectionId: uuidSchema,
  documentId: uuidSchema,
  externalId: z.string().nullable(),
  version: z.number().int().positive(),
  status: z.enum(['ready', 'failed']),
  chunks: z.number().int().nonnegative(),
  error: z.string().nullable(),
});

export type IngestEvent = z.infer<typeof ingestEventSchema>;
