import { z } from 'zod';
import { tenantIdSchema, uuidSchema } from './identifiers.js';

/**
 * The ingest queue's job contract (version 1). The gateway produces these; upstream systems may too.
 * `trace` carries W3C trace context so a trace continues into the worker.
 */
export const ingestQueueName = 'ingest';

const traceSchema = z.record(z.string(), z.string()).optional();

export const ingestDocumentJobSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('ingest'),
  documentId: uuidSchema,
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  version: z.number().int().positive(),
  title: z.string().max(1000).nullable(),
  text: z.string().min(1),
  trace: traceSchema,
});

export const deleteDocumentJobSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('delete'),
  documentId: uuidSchema,
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  trace: traceSchema,
});

export const deleteCollectionJobSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('delete-collection'),
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  trace: traceSchema,
});

export const ingestJobSchema = z.discriminatedUnion('type', [
  ingestDocumentJobSchema,
  deleteDocumentJobSchema,
  deleteCollectionJobSchema,
]);
export type IngestJob = z.infer<typeof ingestJobSchema>;
export type IngestDocumentJob = z.infer<typeof ingestDocumentJobSchema>;
export type DeleteDocumentJob = z.infer<typeof deleteDocumentJobSchema>;
export type DeleteCollectionJob = z.infer<typeof deleteCollectionJobSchema>;

/**
 * One BullMQ job per document and action, so a re-enqueue of the same action is deduplicated. (BullMQ
 * refuses custom ids with a single colon, hence the dashes.)
 */
export function ingestJobId(job: IngestJob): string {
  switch (job.type) {
    case 'ingest':
      return `ingest-${job.documentId}-v${job.version}`;
    case 'delete':
      return `delete-${job.documentId}`;
    case 'delete-collection':
      return `delete-collection-${job.collectionId}`;
  }
}
