import { z } from 'zod';

/** The embedding service's internal HTTP contract (worker and search service are its clients). */

export const outputKinds = ['dense', 'sparse', 'colbert'] as const;
export type OutputKind = (typeof outputKinds)[number];

export const textKinds = ['query', 'passage'] as const;
export type TextKind = (typeof textKinds)[number];

export const embedRequestSchema = z.object({
  texts: z.array(z.string()).min(1).max(256),
  kind: z.enum(textKinds).default('passage'),
  outputs: z.array(z.enum(outputKinds)).min(1).default(['dense', 'sparse']),
});
export type EmbedRequest = z.input<typeof embedRequestSchema>;

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

export const modelInfoSchema = z.object({
  name: z.string(),
  dim: z.number().int().positive(),
  maxLength: z.number().int().positive(),
  outputs: z.object({ dense: z.boolean(), sparse: z.boolean(), colbert: z.boolean() }),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const embedResponseSchema = z.object({
  model: modelInfoSchema,
  data: z.array(embeddingSchema),
});
export type EmbedResponse = z.infer<typeof embedResponseSchema>;
