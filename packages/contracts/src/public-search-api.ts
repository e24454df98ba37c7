import { z } from 'zod';
import { notBlank } from './document-api.js';
import { collectionNameSchema } from './identifiers.js';
import { searchFilterSchema } from './search-filter.js';

/**
 * The public search request and answer; search-api.ts adds the scope the gateway resolves, for the search
 * service.
 */

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
