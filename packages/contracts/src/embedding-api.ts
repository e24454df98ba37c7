import { z } from 'zod';

/** The embedding service's internal HTTP contract (worker and search service are its clients). */

export const outputKinds = ['dense', 'sparse', 'colbert'] as const;
export type OutputKind = (typeof outputKinds)[number];

export const textKinds = ['query', 'passage'] as const;
export type TextKind = (typeof textKinds)[number];

/**
 * Who waits for the texts: `interactive` (a search) is served ahead of `bulk` (ingestion) in the embedding
 * service's queue. Left out: interactive for queries, bulk for passages.
 */
export const embedPriorities = ['interactive', 'bulk'] as const;
export type EmbedPriority = (typeof embedPriorities)[number];

/**
 * `inputs` is the field's name; `texts` is its older alias, still accepted. `truncate` (default true) cuts a text
 * longer than the model's maxLength; false refuses it with 413 instead. Count and size limits are the service's.
 */
export const embedRequestSchema = z
  .object({
    inputs: z.array(z.string()).min(1).optional(),
    texts: z.array(z.string()).min(1).optional(),
    kind: z.enum(textKinds).default('passage'),
    outputs: z.array(z.enum(outputKinds)).min(1).default(['dense', 'sparse']),
    truncate: z.boolean().default(true),
    priority: z.enum(embedPriorities).optional(),
  })
  .superRefine((request, context) => {
    if ((request.inputs === undefined) === (request.texts === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['inputs'],
        message: 'give the texts to embed as `inputs` (or its alias `texts`), exactly one of the two',
      });
    }
  })
  .transform(({ inputs, texts, ...rest }) => ({ inputs: inputs ?? texts ?? [], ...rest }));
/** What callers send. TypeScript callers keep using `texts`. */
export interface EmbedRequest {
  texts: string[];
  kind?: TextKind;
  outputs?: OutputKind[];
  truncate?: boolean;
  priority?: EmbedPriority;
}

export const sparseVectorSchema = z.object({
  indices: z.array(z.number().int().nonnegative()),
  values: z.array(z.number()),
});
export type SparseVector = z.infer<typeof sparseVectorSchema>;

export const embeddingSchema = z.object({
  dense: z.array(z.number()).optional(),
  sparse: sparseVectorSchema.optional(),
  colbert: z.array(z.array(z.number())).optional(),
  tokens: z.number().int().nonnegative(),
});
export type Embedding = z.infer<typeof embeddingSchema>;

export const executionProviders = ['cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof executionProviders)[number];

export const modelInfoSchema = z.object({
  name: z.string(),
  dim: z.number().int().positive(),
  maxLength: z.number().int().positive(),
  outputs: z.object({ dense: z.boolean(), sparse: z.boolean(), colbert: z.boolean() }),
  /** 'bge-m3' (dense, sparse and ColBERT heads) or 'encoder' (a sentence encoder: dense only). */
  family: z.enum(['bge-m3', 'encoder']).optional(),
  /** Prepended to each text by kind before tokenisation. */
  prefixes: z.object({ query: z.string(), passage: z.string() }).optional(),
  /** Where inference runs: 'cpu' or 'cuda' (with the device id). */
  provider: z.enum(executionProviders).optional(),
  deviceId: z.number().int().nonnegative().optional(),
  /**
   * sha256 (hex) of the model's manifest as the service reads it (normalised JSON): with the name, what a
   * collection records, so that a manifest changed under the same name is noticed.
   */
  manifestHash: z.string().optional(),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const embedResponseSchema = z.object({
  model: modelInfoSchema,
  data: z.array(embeddingSchema),
});
export type EmbedResponse = z.infer<typeof embedResponseSchema>;

/**
 * `POST /v1/tokenize`: token ids of whole texts, for chunking documents by tokens. No kind prefix is applied.
 * Offsets are [start, end) in UTF-16 code units (JavaScript string indices) of the input; special tokens get [0, 0].
 */
export const tokenizeRequestSchema = z.object({
  inputs: z.array(z.string()).min(1),
  add_special_tokens: z.boolean().default(true),
  offsets: z.boolean().default(false),
  /** Cut each text to the model's maxLength (keeping the end token) instead of returning every token. */
  truncate: z.boolean().default(false),
});

export const tokenizedTextSchema = z.object({
  ids: z.array(z.number().int().nonnegative()),
  offsets: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).optional(),
  truncated: z.boolean(),
});
export type TokenizedText = z.infer<typeof tokenizedTextSchema>;

export const tokenizeResponseSchema = z.object({
  model: z.string(),
  data: z.array(tokenizedTextSchema),
});
export type TokenizeResponse = z.infer<typeof tokenizeResponseSchema>;
