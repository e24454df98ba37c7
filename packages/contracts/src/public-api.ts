import { z } from 'zod';
import { collectionNameSchema, roles, slugSchema, tenantIdSchema } from './identifiers.js';

/** Request and response shapes of the public HTTP API served by the gateway. */

export const createTenantSchema = z.strictObject({
  id: tenantIdSchema,
  name: z.string().min(1).max(200).optional(),
});

export const createApiKeySchema = z.strictObject({
  tenant: tenantIdSchema,
  role: z.enum(roles),
  collections: z.array(collectionNameSchema).min(1).max(100).optional(),
  name: z.string().min(1).max(200).optional(),
});

export const createCollectionSchema = z.strictObject({
  name: collectionNameSchema,
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

/** Plain text limit of one JSON document; larger content belongs in a file upload. */
export const maxDocumentTextLength = 5_000_000;

export const createDocumentSchema = z.strictObject({
  external_id: z.string().min(1).max(256).optional(),
  title: z.string().max(1000).optional(),
  text: z
    .string()
    .max(maxDocumentTextLength)
    .refine((text) => text.trim().length > 0, 'text must not be empty'),
  metadata: metadataSchema.optional(),
  acl: z.array(z.string().min(1).max(256)).max(1000).optional(),
});
export type CreateDocumentRequest = z.infer<typeof createDocumentSchema>;

export const searchModes = ['hybrid', 'dense', 'sparse', 'bm25'] as const;
export type SearchMode = (typeof searchModes)[number];

export const searchRequestSchema = z.strictObject({
  collection: collectionNameSchema,
  query: z
    .string()
    .max(4000)
    .refine((q) => q.trim().length > 0, 'query must not be empty'),
  top_k: z.number().int().min(1).max(100).default(10),
  mode: z.enum(searchModes).default('hybrid'),
  rerank: z.enum(['none', 'colbert']).default('none'),
  group_by_document: z.boolean().default(false),
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
});

export const searchResponseSchema = z.object({
  results: z.array(searchResultSchema),
  signals: z.array(z.string()),
  took_ms: z.number(),
});
export type SearchResponse = z.infer<typeof searchResponseSchema>;

export { slugSchema };
