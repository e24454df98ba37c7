import { z } from 'zod';
import { tenantIdSchema, uuidSchema } from './identifiers.js';
import { aclPrincipalSchema, highlightSchema, searchModes } from './public-api.js';

/** The search service's internal contract: the gateway has already resolved tenant and collection. */

export const internalSearchRequestSchema = z.strictObject({
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  query: z.string().min(1).max(4000),
  topK: z.number().int().min(1).max(100),
  mode: z.enum(searchModes),
  groupByDocument: z.boolean(),
  /** The caller's ACL principals; null for an unrestricted caller. */
  principals: z.array(aclPrincipalSchema).max(1000).nullable(),
});
export type InternalSearchRequest = z.infer<typeof internalSearchRequestSchema>;

export const internalSearchHitSchema = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  externalId: z.string().nullable(),
  title: z.string().nullable(),
  text: z.string(),
  score: z.number(),
  highlights: z.array(highlightSchema),
  metadata: z.record(z.string(), z.unknown()),
});
export type InternalSearchHit = z.infer<typeof internalSearchHitSchema>;

export const internalSearchResponseSchema = z.object({
  results: z.array(internalSearchHitSchema),
  signals: z.array(z.string()),
  tookMs: z.number(),
});
export type InternalSearchResponse = z.infer<typeof internalSearchResponseSchema>;
