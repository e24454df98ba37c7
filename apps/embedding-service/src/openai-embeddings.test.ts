import { describe, expect, it } from 'vitest';
import {
  decodeBase64Float32,
  embeddingInputs,
  encodeBase64Float32,
  openAiEmbeddingsRequestSchema,
} from './openai-embeddings.js';

describe('OpenAI base64 embeddings', () => {
  it('encodes little-endian float32, as OpenAI clients decode it', () => {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 (little-endian).
    const encoded = encodeBase64Float32([1, -2]);
    expect(Buffer.from(encoded, 'base64')).toEqual(
      Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]),
    );
    expect(decodeBase64Float32(encoded)).toEqual([1, -2]);
  });

  it('rounds to float32 and nothing more', () => {
    expect(decodeBase64Float32(encodeBase64Float32([0.1, 1 / 3]))).toEqual([
      Math.fround(0.1),
      Math.fround(1 / 3),
    ]);
  });
});

describe('OpenAI embeddings request', () => {
  it('takes a string or strings, float by default, passage prefix by default', () => {
    expect(
      openAiEmbeddingsRequestSchema.parse({ input: 'x', model: 'text-embedding-3-small' }),
    ).toMatchObject({
      input: 'x',
      encoding_format: 'float',
      kind: 'passage',
    });
    expect(
      openAiEmbeddingsRequestSchema.parse({ input: ['a', 'b'], encoding_format: 'base64' }).input,
    ).toEqual(['a', 'b']);
  });

  it('takes token arrays, one or many, and tells them from texts', () => {
    const one = openAiEmbeddingsRequestSchema.parse({ input: [0, 5, 2] });
    expect(embeddingInputs(one.input)).toEqual({ tokenIds: [[0, 5, 2]] });
    const many = openAiEmbeddingsRequestSchema.parse({
      input: [
        [0, 5, 2],
        [0, 2],
      ],
    });
    expect(embeddingInputs(many.input)).toEqual({
      tokenIds: [
        [0, 5, 2],
        [0, 2],
      ],
    });
    expect(embeddingInputs(openAiEmbeddingsRequestSchema.parse({ input: 'x' }).input)).toEqual({
      texts: ['x'],
    });
  });

  it('refuses empty lists, empty token arrays, mixed lists and negative or fractional ids', () => {
    for (const input of [[], [[]], ['a', 1], [[1, 2], 'a'], [-1], [1.5], [[1, -2]]]) {
      expect({ input, ok: openAiEmbeddingsRequestSchema.safeParse({ input }).success }).toEqual({
        input,
        ok: false,
      });
    }
  });
});
