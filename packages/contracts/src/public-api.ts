import { z } from 'zod';
import { collectionNameSchema, roles, slugSchema, tenantIdSchema } from './identifiers.js';
import { searchFilterSchema } from './search-filter.js';

/** Request and response shapes of the public HTTP API served by the gateway. */

export const createTenantSchema = z.strictObject({
  id: tenantIdSchema,
  name: z.string().min(1).max(200).optional(),
});

/**
 * An ACL principal such as "user:alice", "user:auth0|abc" or "group:R&D team": an opaque string, matched
 * exactly. Only NUL is refused, which PostgreSQL text cannot hold.
 */
export const aclPrincipalSchema = z
  .string()
  .min(1)
  .max(256)
  // A pattern rather than a refinement, so that the OpenAPI description declares it too.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this pattern refuses
  .regex(/^[^\u0000]*$/, 'must not contain the NUL character');

export const createApiKeySchema = z.strictObject({
  tenant: tenantIdSchema,
  role: z.enum(roles),
  collections: z.array(collectionNameSchema).min(1).max(100).optional(),
  /** ACL principals the key acts as; without them the key sees every document of its tenant. */
  principals: z.array(aclPrincipalSchema).min(1).max(100).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  name: z.string().min(1).max(200).optional(),
});

export const createCollectionSchema = z.strictObject({
  name: collectionNameSchema,
  /**
   * The embedding model its documents and searches use, one of GET /v1/models; recorded with the model's
   * manifest hash. Left out: the stack's default model, whichever that is.
   */
  model: z.string().min(1).max(256).optional(),
});

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
const notBlank = /[^\s\uFEFF]/;

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

export const searchModes = ['hybrid', 'dense', 'sparse', 'bm25'] as const;
export type SearchMode = (typeof searchModes)[number];

export const searchRequestSchema = z.strictObject({
  collection: collectionNameSchema,
  query: z.string().max(4000).regex(notBlank, 'query must not be empty'),
  top_k: z.number().int().min(1).max(100).default(10),
  mode: z.enum(searchModes).default('hybrid'),
  rerank: z.enum(['none', 'colbert']).default('none'),
  group_by_document: z.boolean().default(false),
  /** Metadata filter (search-filter.ts), applied inside the vector query. */
  filter: z.lazy(() => searchFilterSchema).optional(),
  /** Weighted fusion (default) or reciprocal rank fusion of the hybrid signals. */
  fusion: z.enum(['weighted', 'rrf']).default('weighted'),
  /** Per-signal fusion weights, e.g. {"dense": 0.5, "bm25": 0.5}; unnamed signals count 0. */
  weights: z
    .strictObject({
      dense: z.number().min(0).max(1).optional(),
      sparse: z.number().min(0).max(1).optional(),
      bm25: z.number().min(0).max(1).optional(),
    })
    .optional(),
  /** Results to skip; offset + top_k stays within the first 200 results. */
  offset: z.number().int().min(0).max(199).optional(),
  /** next_cursor of the previous page; carries the offset and the collection version. */
  cursor: z.string().max(200).optional(),
});
export type SearchRequest = z.infer<typeof searchRequestSchema>;

export const documentStatuses = ['queued', 'processing', 'ready', 'failed', 'deleting'] as const;
export type DocumentStatus = (typeof documentStatuses)[number];

export const highlightSchema = z.object({ start: z.number().int(), end: z.number().int() });

export const searchResultSchema = z.object({
  document_id: z.string(),
  external_id: z.string().nullable(),
  chunk_id: z.string(),
  score: z.number(),
  title: z.string().nullable(),
  text: z.string(),
  highlights: z.array(highlightSchema),
  metadata: z.record(z.string(), z.unknown()),
  /** The page the chunk starts on (PDF pages, slides); null where the format has no pages. */
  page: z.number().int().nullable(),
  /** The headings above the chunk, outermost first. */
  heading_path: z.array(z.string()),
  /** The chunk's character offsets (UTF-16 code units) in the document's extracted text. */
  start_offset: z.number().int(),
  end_offset: z.number().int(),
  /** Each signal's own score for this chunk, where it was among that signal's candidates. */
  scores: z
    .object({
      dense: z.number().optional(),
      sparse: z.number().optional(),
      bm25: z.number().optional(),
      colbert: z.number().optional(),
    })
    .optional(),
  /** Each signal's own rank (from 1) of this chunk among its candidates, beside `scores`. */
  ranks: z
    .object({
      dense: z.number().int().optional(),
      sparse: z.number().int().optional(),
      bm25: z.number().int().optional(),
      colbert: z.number().int().optional(),
    })
    .optional(),
});

export const searchResponseSchema = z.object({
  results: z.array(searchResultSchema),
  signals: z.array(z.string()),
  fusion: z.string().optional(),
  weights: z.record(z.string(), z.number()).optional(),
  /** Pass as `cursor` for the next page; null when there is none. */
  next_cursor: z.string().nullable().optional(),
  took_ms: z.number(),
});
export type SearchResponse = z.infer<typeof searchResponseSchema>;

export { slugSchema };

/** Response shapes, for the OpenAPI description and typed clients. */

export const tenantSchema = z.object({ id: z.string(), name: z.string() });

export const apiKeyInfoSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  prefix: z.string(),
  tenant: z.string(),
  role: z.enum(roles),
  collections: z.array(z.string()).nullable(),
  principals: z.array(z.string()).nullable(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof apiKeyInfoSchema>;

export const createdApiKeySchema = apiKeyInfoSchema.extend({
  key: z.string().describe('The API key; shown only in this response'),
});

/** What the calling credential is: its tenant, role and limits, so a client can show only what it allows. */
export const credentialSchema = z.object({
  tenant: z.string(),
  role: z.enum(roles),
  /** The bootstrap admin credential from config, which manages every tenant. */
  bootstrap: z.boolean(),
  /** Collections it is limited to; null for every collection of the tenant. */
  collections: z.array(z.string()).nullable(),
  /** ACL principals it acts as; null when it sees every document of the tenant. */
  principals: z.array(z.string()).nullable(),
  /** The API key's id; null for a JWT and the bootstrap admin. */
  key_id: z.string().nullable(),
  /** Who the gateway logs and audits the caller as (a JWT's subject, `key:<id>` for an API key). */
  subject: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const apiKeyListSchema = z.object({ keys: z.array(apiKeyInfoSchema) });

export const collectionSchema = z.object({
  name: z.string(),
  created_at: z.string(),
  /** The embedding model it was created on (null: the stack's default), with its manifest's sha256. */
  model: z.string().nullable(),
  model_manifest_hash: z.string().nullable(),
});
export const collectionListSchema = z.object({ collections: z.array(collectionSchema) });
export const collectionDeletionSchema = z.object({ name: z.string(), status: z.literal('deleting') });

/** A collection with what the caller may see of it: documents by status, chunks searches see, last change. */
export const collectionSummarySchema = collectionSchema.extend({
  documents: z.object({
    total: z.number().int(),
    queued: z.number().int(),
    processing: z.number().int(),
    ready: z.number().int(),
    failed: z.number().int(),
    deleting: z.number().int(),
  }),
  chunks: z.number().int(),
  /** When a document of it last changed; null while it has none. */
  last_changed_at: z.string().nullable(),
});

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

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  code: z.string(),
  request_id: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
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
