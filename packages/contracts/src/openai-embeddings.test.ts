import { describe, expect, it } from 'vitest';
import {
  embeddingInputs,
  openAiEmbeddingsRequestSchema,
  serviceEmbeddingsRequestSchema,
} from './openai-embeddings.js';

describe('OpenAI embeddings request', () => {
  it('takes a string or strings, float by default, passage prefix by default', () => {
    expect(
      serviceEmbeddingsRequestSchema.parse({ input: 'x', model: 'text-embedding-3-small' }),
    ).toMatchObject({
      input: 'x',
      encoding_format: 'float',
      kind: 'passage',
    });
    expect(
      serviceEmbeddingsRequestSchema.parse({ input: ['a', 'b'], encoding_format: 'base64' }).input,
    ).toEqual(['a', 'b']);
  });

  it('takes token arrays, one or many, and tells them from texts', () => {
    const one = serviceEmbeddingsRequestSchema.parse({ input: [0, 5, 2] });
    expect(embeddingInputs(one.input)).toEqual({ tokenIds: [[0, 5, 2]] });
    const many = serviceEmbeddingsRequestSchema.parse({
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
    expect(embeddingInputs(serviceEmbeddingsRequestSchema.parse({ input: 'x' }).input)).toEqual({
      texts: ['x'],
    });
  });

  it('refuses empty lists, empty token arrays, mixed lists and negative or fractional ids', () => {
    for (const input of [[], [[]], ['a', 1], [[1, 2], 'a'], [-1], [1.5], [[1, -2]]]) {
      expect({ input, ok: serviceEmbeddingsRequestSchema.safeParse({ input }).success }).toEqual({
        input,
        ok: false,
      });
    }
  });
});

describe('OpenAI embeddings request at the gateway', () => {
  it('needs the model, as OpenAI does, and says where to find the names', () => {
    const parsed = openAiEmbeddingsRequestSchema.safeParse({ input: 'x' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['model'] });
    expect(parsed.error?.issues[0]?.message).toContain('GET /v1/models');
    expect(openAiEmbeddingsRequestSchema.parse({ input: 'x', model: 'm' })).toMatchObject({ model: 'm' });
  });
});
