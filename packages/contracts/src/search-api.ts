import { z } from 'zod';
import { aclPrincipalSchema } from './access-api.js';
import { tenantIdSchema, uuidSchema } from './identifiers.js';
import { searchRequestSchema, searchResultSchema } from './public-search-api.js';

/** The search service's internal contract: the gateway has already resolved tenant and collection. */

export const signalNames = ['dense', 'sparse', 'bm25'] as const;
export type SignalName = (typeof signalNames)[number];

export const fusionMethods = ['weighted', 'rrf'] as const;
export type FusionMethod = (typeof fusionMethods)[number];

/** How far a search's ranking reaches: offset + top_k must stay within it, so every page is of one ranking. */
export const maxResultWindow = 200;

export const signalWeightsSchema = z
  .strictObject({
    dense: z.number().min(0).max(1).optional(),
    sparse: z.number().min(0).max(1).optional(),
    bm25: z.number().min(0).max(1).optional(),
  })
  .refine(
    (w) => Object.values(w).some((value) => value !== undefined && value > 0),
    'a weight must be above 0',
  );

/** What the gateway resolved from the caller and the collection name: who searches, where, at which version. */
export const searchScopeSchema = z.strictObject({
  tenantId: tenantIdSchema,
  collectionId: uuidSchema,
  /** The caller's ACL principals; null for an unrestricted caller. */
  principals: z.array(aclPrincipalSchema).max(1000).nullable(),
  /** The collection's index version the first page was computed at (from a cursor); a change is a 409. */
  indexVersion: z.number().int().nonnegative().optional(),
  /** The model the collection was created on, when it names one: searching it with another is a 409. */
  model: z.strictObject({ name: z.string().min(1), manifestHash: z.string().min(1) }).optional(),
});
export type SearchScope = z.infer<typeof searchScopeSchema>;

/** The one check of paging: every page is of one ranking, so offset + top_k stays within its reach. */
export function resultWindowProblem(offset: number, topK: number): string | undefined {
  return offset + topK > maxResultWindow
    ? `offset + top_k must not exceed ${maxResultWindow}: pages reach the first ${maxResultWindow} results`
    : undefined;
}

/**
 * A search as the service takes it: the public request body (collection name and cursor resolved into the
 * scope and the offset) plus the scope. The window is checked where the offset is known, by the gateway
 * (resultWindowProblem); the service takes the same check from this schema.
 */
export const internalSearchRequestSchema = searchRequestSchema
  .omit({ collection: true, cursor: true })
  .extend({
    offset: z.number().int().min(0).default(0),
    weights: signalWeightsSchema.optional(),
    scope: searchScopeSchema,
  })
  .superRefine((request, context) => {
    const problem = resultWindowProblem(request.offset, request.top_k);
    if (problem) context.addIssue({ code: 'custom', message: problem, path: ['offset'] });
  });
export type InternalSearchRequest = z.input<typeof internalSearchRequestSchema>;
export type ParsedSearchRequest = z.output<typeof internalSearchRequestSchema>;

export const signalScoresSchema = z.object({
  dense: z.number().optional(),
  sparse: z.number().optional(),
  bm25: z.number().optional(),
  colbert: z.number().optional(),
});
export type SignalScores = z.infer<typeof signalScoresSchema>;

/** A hit as the public API shows it (the gateway passes it on unchanged), each signal's score always present. */
export const internalSearchHitSchema = searchResultSchema.extend({ scores: signalScoresSchema });
export type InternalSearchHit = z.infer<typeof internalSearchHitSchema>;

export const searchTimingsSchema = z.object({
  embedMs: z.number(),
  vectorMs: z.number(),
  databaseMs: z.number(),
  rerankMs: z.number(),
  totalMs: z.number(),
  cached: z.boolean(),
});
export type SearchTimings = z.infer<typeof searchTimingsSchema>;

export const internalSearchResponseSchema = z.object({
  results: z.array(internalSearchHitSchema),
  signals: z.array(z.string()),
  fusion: z.enum([...fusionMethods, 'none']),
  weights: z.record(z.string(), z.number()),
  reranked: z.boolean(),
  /** Offset of the next page, or null when the ranking is exhausted. */
  nextOffset: z.number().int().nullable(),
  indexVersion: z.number().int(),
  tookMs: z.number(),
  timings: searchTimingsSchema,
});
export type InternalSearchResponse = z.infer<typeof internalSearchResponseSchema>;
