import { z } from 'zod';

/**
 * OpenAI's embeddings and models API, as the gateway answers it publicly and the embedding service internally, so
 * that OpenAI client libraries (and LangChain's OpenAIEmbeddings, built on them) work with a base URL changed.
 */

const tokenIdsSchema = z.array(z.number().int().nonnegative()).min(1);

/**
 * Texts, or token arrays: the model's own token ids with its special tokens (what the embedding service's
 * /v1/tokenize gives), embedded as they are, without a prefix.
 */
export const embeddingInputSchema = z.union(
  [z.string(), z.array(z.string()).min(1), tokenIdsSchema, z.array(tokenIdsSchema).min(1)],
  {
    error:
      'give a string, a non-empty array of strings, a token array (non-negative integers) or a non-empty array of token arrays',
  },
);

const openAiFields = {
  input: embeddingInputSchema,
  encoding_format: z.enum(['float', 'base64']).default('float'),
  /** Only a dimension the model gives is available; today that is its own. */
  dimensions: z.number().int().positive().optional(),
  /** OpenAI's end-user id; accepted and not used. */
  user: z.string().optional(),
  /** Not in OpenAI's API: which of the model's prefixes to add to texts (E5's "query: " / "passage: "). */
  kind: z.enum(['query', 'passage']).default('passage'),
};

/** The embedding service's form: it serves one model, so `model` is accepted and not checked. */
export const serviceEmbeddingsRequestSchema = z.object({ ...openAiFields, model: z.string().optional() });

/** The gateway's form: `model` picks one of the served models, as OpenAI's API requires it to. */
export const openAiEmbeddingsRequestSchema = z.object({
  ...openAiFields,
  model: z.string({ error: 'name the model to embed with (GET /v1/models lists them)' }).min(1),
});
export type OpenAiEmbeddingsRequest = z.infer<typeof openAiEmbeddingsRequestSchema>;

export const openAiEmbeddingsResponseSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.number().int().nonnegative(),
      /** Floats, or base64 of little-endian float32 with encoding_format "base64". */
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
});
export type OpenAiEmbeddingsResponse = z.infer<typeof openAiEmbeddingsResponseSchema>;

/** The four shapes of `input` as one list of texts or one list of token arrays. */
export type EmbeddingInputs = { texts: string[] } | { tokenIds: number[][] };

export function embeddingInputs(input: z.infer<typeof embeddingInputSchema>): EmbeddingInputs {
  if (typeof input === 'string') return { texts: [input] };
  const [first] = input;
  if (typeof first === 'string') return { texts: input as string[] };
  if (typeof first === 'number') return { tokenIds: [input as number[]] };
  return { tokenIds: input as number[][] };
}

/** `GET /v1/models`: OpenAI's list, each model with what a caller needs to choose it. */
export const openAiModelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
  dimensions: z.number().int().positive(),
  max_input_tokens: z.number().int().positive(),
  outputs: z.array(z.enum(['dense', 'sparse', 'colbert'])),
  /** sha256 of the model's manifest: a collection records it with the model's name. */
  manifest_hash: z.string().optional(),
  /** The model new collections get when they name none. */
  default: z.boolean(),
});
export const openAiModelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(openAiModelSchema),
});

/** OpenAI's error body, which OpenAI clients read their exception's message and code from. */
export const openAiErrorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAiError = z.infer<typeof openAiErrorSchema>;
