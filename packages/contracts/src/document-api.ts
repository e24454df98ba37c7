import { z } from 'zod';
import { aclPrincipalSchema } from './access-api.js';

/** Public API shapes of documents: adding, changing, listing, reading, deleting, batches. */

const metadataValueSchema = z.union([
  z.string().max(2000),
  z.number().finite(),
  z.boolean(),
  z.null(),
  z.array(z.union([z.string().max(2000), z.number().finite(), z.boolean()])).max(100),
]);

export const metadataSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'metadata keys are identifiers'),
    metadataValueSchema,
  )
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 metadata keys');

/**
 * Something besides whitespace: a pattern rather than a refinement, so that the OpenAPI description carries
 * it and clients (and fuzzers) know a blank string is refused. U+FEFF is named because JavaScript counts it
 * as whitespace (String.prototype.trim removes it) and other regex engines do not.
 */
export const notBlank = /[^\s\uFEFF]/;

/** Plain text limit of one JSON document; larger content belongs in a file upload. */
export const maxDocumentTextLength = 5_000_000;

export const createDocumentSchema = z.strictObject({
  external_id: z.string().min(1).max(256).optional(),
  title: z.string().max(1000).optional(),
  text: z.string().max(maxDocumentTextLength).regex(notBlank, 'text must not be empty'),
  metadata: metadataSchema.optional(),
  /** Principals allowed to see the document; without an ACL every caller of the tenant may. */
  acl: z.array(aclPrincipalSchema).max(1000).optional(),
  /** How to read `text`: plain (default), Markdown (headings become each chunk's heading path) or HTML. */
  media_type: z.enum(['text/plain', 'text/markdown', 'text/html']).optional(),
});
export type CreateDocumentRequest = z.infer<typeof createDocumentSchema>;

/** The fields a document's title, metadata and ACL can change by without new content (nothing re-embedded). */
export const documentFieldNames = ['title', 'metadata', 'acl'] as const;

/**
 * PATCH of a document: each field given replaces the stored one (metadata as a whole); the others stay.
 * `acl: null` or `[]` makes the document visible to the whole tenant again; `title: null` removes the given title
 * (an uploaded file then shows its own).
 */
export const updateDocumentSchema = z.strictObject({
  title: z.string().max(1000).nullable().optional(),
  metadata: metadataSchema.optional(),
  acl: z.array(aclPrincipalSchema).max(1000).nullable().optional(),
});
export type UpdateDocumentRequest = z.infer<typeof updateDocumentSchema>;

export const documentStatuses = ['queued', 'processing', 'ready', 'failed', 'deleting'] as const;
export type DocumentStatus = (typeof documentStatuses)[number];

export const documentAcceptedSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  status: z.enum(documentStatuses),
  status_url: z.string(),
  /** The same content with another title, metadata or ACL: those fields were changed in place. */
  fields_updated: z.array(z.enum(documentFieldNames)).optional(),
});

export const documentSchema = z.object({
  id: z.string(),
  external_id: z.string().nullable(),
  title: z.string().nullable(),
  status: z.enum(documentStatuses),
  error: z.string().optional(),
  chunks: z.number().int(),
  version: z.number().int(),
  content_hash: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  /** Principals allowed to see the document; null when the whole tenant may. */
  acl: z.array(z.string()).nullable().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The version searches see while a newer one is processed; null until one is ready. */
  ready_version: z.number().int().nullable().optional(),
  /** Detected from the content of an uploaded file. */
  media_type: z.string().nullable().optional(),
  filename: z.string().nullable().optional(),
  page_count: z.number().int().nullable().optional(),
});

/** The external_id prefix a document list is filtered by; NUL is refused, which PostgreSQL text cannot hold. */
export const externalIdPrefixSchema = z
  .string()
  .min(1)
  .max(256)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this pattern refuses
  .regex(/^[^\u0000]*$/, 'must not contain the NUL character');

/** A page of a collection's documents, newest first. */
export const documentListSchema = z.object({
  documents: z.array(documentSchema),
  /** Pass as `cursor` for the next page; null after the last document. */
  next_cursor: z.string().nullable(),
});

/** A page of a document's chunks in reading order (the version searches see). */
export const documentChunksSchema = z.object({
  chunks: z.array(
    z.object({
      chunk_id: z.string(),
      position: z.number().int(),
      text: z.string(),
      page: z.number().int().nullable(),
      heading_path: z.array(z.string()),
      start_offset: z.number().int(),
      end_offset: z.number().int(),
    }),
  ),
  /** Pass as `cursor` for the next page; null after the last chunk. */
  next_cursor: z.string().nullable(),
});

export const documentDeletionSchema = z.object({
  id: z.string(),
  status: z.literal('deleting'),
  status_url: z.string(),
});

/** Many documents in one request; each gets its own result, and one bad document fails only itself. */
export const maxBatchDocuments = 100;

export const batchDocumentsSchema = z.strictObject({
  documents: z.array(z.unknown()).min(1).max(maxBatchDocuments),
});

export const batchDocumentResultSchema = z.object({
  index: z.number().int(),
  /** The status this document alone would have had: 202 queued, 200 unchanged, 4xx refused. */
  status: z.number().int(),
  id: z.string().optional(),
  version: z.number().int().optional(),
  document_status: z.enum(documentStatuses).optional(),
  status_url: z.string().optional(),
  fields_updated: z.array(z.enum(documentFieldNames)).optional(),
  code: z.string().optional(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const batchDocumentsResponseSchema = z.object({
  results: z.array(batchDocumentResultSchema),
  accepted: z.number().int(),
  unchanged: z.number().int(),
  rejected: z.number().int(),
});
