import { collectionNameSchema, tenantIdSchema, uuidSchema } from '@rag/contracts/identifiers';
import { z } from 'zod';

/**
 * The ingest queue's job contract. Upstream systems add version 2 jobs to the BullMQ queue `ingest`
 * themselves (see README "Upstream queue contract"); the gateway produces version 2 jobs too. Version 1
 * jobs, the first contract, are still accepted so that jobs queued before an upgrade run. `trace` carries
 * W3C trace context so a trace continues into the worker.
 */
export const ingestQueueName = 'ingest';
/** Jobs that failed for good (invalid, a bad document, or retries exhausted), with the reason. */
export const deadLetterQueueName = 'ingest-dead-letter';

/**
 * Inline text above this size belongs in object storage, referenced by a `storage` content (the gateway
 * stores larger JSON text there itself). Small, so that queued jobs keep Redis memory bounded.
 */
export const maxInlineTextLength = 65_536;
export const maxExternalIdLength = 512;
export const maxTitleLength = 1000;
export const maxAclEntries = 1000;

const traceSchema = z
  .record(z.string(), z.string())
  .optional()
  .describe('W3C trace context (traceparent, tracestate)');

// ---------------------------------------------------------------------------------------------------------
// Version 1 (kept for jobs queued by earlier releases)

export const ingestDocumentJobV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('ingest'),
  documentId: uuidSchema,
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  version: z.number().int().positive(),
  title: z.string().max(maxTitleLength).nullable(),
  text: z.string().min(1),
  trace: traceSchema,
});

export const deleteDocumentJobV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('delete'),
  documentId: uuidSchema,
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  trace: traceSchema,
});

export const deleteCollectionJobV1Schema = z.strictObject({
  v: z.literal(1),
  type: z.literal('delete-collection'),
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  trace: traceSchema,
});

export const ingestJobV1Schema = z.discriminatedUnion('type', [
  ingestDocumentJobV1Schema,
  deleteDocumentJobV1Schema,
  deleteCollectionJobV1Schema,
]);

// ---------------------------------------------------------------------------------------------------------
// Version 2

export const inlineTextMediaTypes = ['text/plain', 'text/markdown', 'text/html'] as const;

export const inlineContentSchema = z
  .strictObject({
    kind: z.literal('inline'),
    text: z.string().min(1).max(maxInlineTextLength),
    mediaType: z.enum(inlineTextMediaTypes).default('text/plain'),
  })
  .describe(`The document's text in the job itself (at most ${maxInlineTextLength} characters)`);

export const storageContentSchema = z
  .strictObject({
    kind: z.literal('storage'),
    key: z
      .string()
      .min(1)
      .max(1024)
      .regex(
        /^(?!\/)(?!.*\.\.)[\w!\-.*'()/]+$/,
        'use a relative key of letters, digits and !-_.*\'()/, no ".."',
      )
      .describe("The object's key in the system's object storage"),
    mediaType: z.string().max(255).optional().describe('Detected from the content when left out'),
    filename: z.string().max(1024).optional(),
  })
  .describe('A file already put into the object storage the worker reads (local disk or S3)');

export const documentContentSchema = z.discriminatedUnion('kind', [
  inlineContentSchema,
  storageContentSchema,
]);

const documentTarget = {
  tenantId: tenantIdSchema,
  collection: collectionNameSchema.describe('The collection name; it must exist'),
  externalId: z
    .string()
    .min(1)
    .max(maxExternalIdLength)
    .optional()
    .describe("The producer's id of the document: the same externalId again updates the document"),
  documentId: uuidSchema.optional().describe('Our id of a document that already exists'),
};

export const ingestDocumentJobV2Schema = z
  .strictObject({
    v: z.literal(2),
    type: z.literal('ingest'),
    ...documentTarget,
    /**
     * Set by gateways of earlier releases, which created the document's row and its version before queueing
     * (the gateway now queues `ingest-version`): with `documentId`, the job builds that version.
     */
    version: z.number().int().positive().optional(),
    title: z.string().max(maxTitleLength).nullable().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    acl: z.array(z.string().min(1).max(256)).max(maxAclEntries).optional(),
    content: documentContentSchema,
    trace: traceSchema,
  })
  .refine((job) => job.externalId !== undefined || job.documentId !== undefined, {
    message: 'an ingest job needs externalId (or documentId for an existing document)',
    path: ['externalId'],
  });

export const deleteDocumentJobV2Schema = z
  .strictObject({
    v: z.literal(2),
    type: z.literal('delete'),
    ...documentTarget,
    trace: traceSchema,
  })
  .refine((job) => job.externalId !== undefined || job.documentId !== undefined, {
    message: 'a delete job needs externalId or documentId',
    path: ['externalId'],
  });

/**
 * Brings a document's vector rows in line with the ACL and metadata PostgreSQL holds for it, without
 * re-embedding. The gateway sends one after changing those fields, since the worker is the one writer of a
 * collection's vectors; the job reads the current fields when it runs, so jobs may arrive in any order.
 */
export const updateFieldsJobV2Schema = z.strictObject({
  v: z.literal(2),
  type: z.literal('update-fields'),
  tenantId: tenantIdSchema,
  collection: collectionNameSchema,
  documentId: uuidSchema,
  /** When the fields changed (the document's updated_at): one job per change, equal ones merge. */
  changedAt: z.iso.datetime({ offset: true }),
  /**
   * The title changed too: it goes with every chunk into the embedding and the lexical index, so the chunks
   * are indexed again (from their stored text, under the title the document shows when the job runs).
   */
  titleChanged: z.boolean().optional(),
  trace: traceSchema,
});

/**
 * Builds a document version that was accepted already (`@rag/ingest-acceptance`): the document's row, its
 * version and its source (the object storage key it names) exist, so the worker reads everything else from
 * the row. The gateway queues it for every document it accepts. Short JSON text is not stored: it travels
 * here as `text`.
 */
export const ingestVersionJobV2Schema = z.strictObject({
  v: z.literal(2),
  type: z.literal('ingest-version'),
  tenantId: tenantIdSchema,
  documentId: uuidSchema,
  version: z.number().int().positive(),
  text: z
    .string()
    .min(1)
    .max(maxInlineTextLength)
    .optional()
    .describe("The document's text when the version has no stored source"),
  trace: traceSchema,
});

/** Removes a collection the gateway marked deleting: its documents' vectors, sources and rows, then it. */
export const deleteCollectionJobV2Schema = z.strictObject({
  v: z.literal(2),
  type: z.literal('delete-collection'),
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  trace: traceSchema,
});

export const ingestJobV2Schema = z.discriminatedUnion('type', [
  ingestDocumentJobV2Schema,
  ingestVersionJobV2Schema,
  deleteDocumentJobV2Schema,
  updateFieldsJobV2Schema,
  deleteCollectionJobV2Schema,
]);

export type IngestJobV1 = z.infer<typeof ingestJobV1Schema>;
export type IngestDocumentJobV1 = z.infer<typeof ingestDocumentJobV1Schema>;
export type DeleteDocumentJobV1 = z.infer<typeof deleteDocumentJobV1Schema>;
export type DeleteCollectionJob =
  | z.infer<typeof deleteCollectionJobV1Schema>
  | z.infer<typeof deleteCollectionJobV2Schema>;
export type IngestJobV2 = z.infer<typeof ingestJobV2Schema>;
export type IngestDocumentJobV2 = z.infer<typeof ingestDocumentJobV2Schema>;
export type IngestVersionJob = z.infer<typeof ingestVersionJobV2Schema>;
export type DeleteDocumentJobV2 = z.infer<typeof deleteDocumentJobV2Schema>;
export type UpdateFieldsJob = z.infer<typeof updateFieldsJobV2Schema>;
export type DocumentContent = z.infer<typeof documentContentSchema>;
export type IngestJob = IngestJobV1 | IngestJobV2;
/** What a producer writes: defaults (e.g. an inline mediaType) may be left out. */
export type IngestJobV2Input = z.input<typeof ingestJobV2Schema>;

export type ParsedIngestJob = { ok: true; job: IngestJob } | { ok: false; reason: string };

/** Validates a queued job of any supported version; the reason names every offending field. */
export function parseIngestJob(data: unknown): ParsedIngestJob {
  const v = typeof data === 'object' && data !== null ? (data as { v?: unknown }).v : undefined;
  const schema = v === 1 ? ingestJobV1Schema : v === 2 ? ingestJobV2Schema : undefined;
  if (!schema) return { ok: false, reason: `v: unsupported job version ${JSON.stringify(v)} (use 1 or 2)` };
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, job: parsed.data };
  const reason = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, reason };
}

/**
 * One BullMQ job id per document and action, so a re-enqueue of the same action is deduplicated. (BullMQ
 * refuses custom ids with a single colon, hence the dashes.) Upstream producers choose their own ids. A
 * version's build has the id that ingest jobs of earlier gateways had for it, so either deduplicates the other.
 */
export function ingestJobId(job: IngestJob): string {
  switch (job.type) {
    case 'ingest':
      return job.v === 1
        ? `ingest-${job.documentId}-v${job.version}`
        : `ingest-${job.documentId ?? job.externalId}-v${job.version ?? 'next'}`;
    case 'ingest-version':
      return `ingest-${job.documentId}-v${job.version}`;
    case 'delete':
      return `delete-${job.v === 1 ? job.documentId : (job.documentId ?? job.externalId)}`;
    case 'delete-collection':
      return `delete-collection-${job.collectionId}`;
    case 'update-fields':
      return `update-fields-${job.documentId}-${Date.parse(job.changedAt)}`;
  }
}
