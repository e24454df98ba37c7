import { z } from 'zod';

/**
 * The OpenAI embeddings API (POST /v1/embeddings), so that OpenAI client libraries and tools built on them can use
 * this service: dense vectors only, as floats or base64 of little-endian float32.
 */
const tokenIdsSchema = z.array(z.number().int().nonnegative()).min(1);

export const openAiEmbeddingsRequestSchema = z.object({
  /**
   * Texts, or token arrays: the model's own token ids with its special tokens (what /v1/tokenize gives),
   * embedded as they are, without a prefix.
   */
  input: z.union([z.string(), z.array(z.string()).min(1), tokenIdsSchema, z.array(tokenIdsSchema).min(1)], {
    error:
      'give a string, a non-empty array of strings, a token array (non-negative integers) or a non-empty array of token arrays',
  }),
  /** Accepted for compatibility; the service answers with the model it serves (the gateway picks the service). */
  model: z.string().optional(),
  encoding_format: z.enum(['float', 'base64']).default('float'),
  /** Only the model's own dimension is available. */
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
  /** Not in OpenAI's API: which of the manifest's prefixes to add to texts (E5's "query: " / "passage: "), as in /v1/embed. */
  kind: z.enum(['query', 'passage']).default('passage'),
});

/** The four shapes of `input` as one list of texts or one list of token arrays. */
export type EmbeddingInputs = { texts: string[] } | { tokenIds: number[][] };

export function embeddingInputs(input: OpenAiEmbeddingsRequest['input']): EmbeddingInputs {
  if (typeof input === 'string') return { texts: [input] };
  const [first] = input;
  if (typeof first === 'string') return { texts: input as string[] };
  if (typeof first === 'number') return { tokenIds: [input as number[]] };
  return { tokenIds: input as number[][] };
}

export type OpenAiEmbeddingsRequest = z.infer<typeof openAiEmbeddingsRequestSchema>;

/** Little-endian float32 bytes in base64, as OpenAI's encoding_format "base64" gives them. */
export function encodeBase64Float32(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  const bytes = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    // Big-endian host: swap each float's bytes so the wire format stays little-endian.
    bytes.swap32();
  }
  return bytes.toString('base64');
}

export function decodeBase64Float32(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}
