import type { EmbedRequest } from '@rag/contracts/embedding-api';
import type { EmbeddingClient, TokenizeRequest } from '@rag/service-clients/embedding-client';
import { describe, expect, it } from 'vitest';
import { createBatchingEmbeddingClient } from './batching-embedding-client.js';

/** A client that answers each text with its own length, and records the requests it got. */
function recordingClient() {
  const embedCalls: EmbedRequest[] = [];
  const tokenizeCalls: TokenizeRequest[] = [];
  const client: EmbeddingClient = {
    async embed(request) {
      embedCalls.push(request);
      return {
        model: { name: 'm', dim: 1, maxLength: 8, outputs: { dense: true, sparse: false, colbert: false } },
        data: request.texts.map((text) => ({ dense: [text.length] })),
      } as never;
    },
    async tokenize(request) {
      tokenizeCalls.push(request);
      return { model: 'm', data: request.inputs.map((text) => ({ ids: [text.length], truncated: false })) };
    },
    async modelInfo() {
      throw new Error('unused');
    },
  };
  return { client, embedCalls, tokenizeCalls };
}

describe('batching embedding client', () => {
  it('merges concurrent calls with the same options and hands each caller its own answers', async () => {
    const { client, embedCalls } = recordingClient();
    const batching = createBatchingEmbeddingClient(client, { maxTexts: 32, maxWaitMs: 5 });
    const answers = await Promise.all([
      batching.embed({ texts: ['a', 'bb'], kind: 'passage', outputs: ['dense'] }),
      batching.embed({ texts: ['ccc'], kind: 'passage', outputs: ['dense'] }),
      batching.embed({ texts: ['dddd'], kind: 'query', outputs: ['dense'] }),
    ]);
    expect(answers.map((a) => a.data.map((d) => d.dense?.[0]))).toEqual([[1, 2], [3], [4]]);
    expect(embedCalls.map((c) => c.texts)).toEqual([['a', 'bb', 'ccc'], ['dddd']]);
  });

  it('sends a batch as soon as it is full, and never more texts than the limit together', async () => {
    const { client, tokenizeCalls } = recordingClient();
    const batching = createBatchingEmbeddingClient(client, { maxTexts: 3, maxWaitMs: 1000 });
    const answers = await Promise.all([
      batching.tokenize({ inputs: ['a', 'b'], offsets: true }),
      batching.tokenize({ inputs: ['cc', 'dd'], offsets: true }),
      batching.tokenize({ inputs: ['e'], offsets: true }),
    ]);
    expect(answers.map((a) => a.data.map((d) => d.ids[0]))).toEqual([[1, 1], [2, 2], [1]]);
    expect(tokenizeCalls.map((c) => c.inputs)).toEqual([
      ['a', 'b'],
      ['cc', 'dd', 'e'],
    ]);
  });

  it('fails every caller of a batch whose request failed', async () => {
    const { client } = recordingClient();
    client.embed = async () => {
      throw new Error('embedding service down');
    };
    const batching = createBatchingEmbeddingClient(client, { maxTexts: 32, maxWaitMs: 1 });
    const results = await Promise.allSettled([
      batching.embed({ texts: ['a'], kind: 'passage' }),
      batching.embed({ texts: ['b'], kind: 'passage' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
