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

  it('with every slot taken, gathers calls until a request comes back, then sends them as one', async () => {
    const { client } = recordingClient();
    const answered = client.embed.bind(client);
    const embedCalls: { texts: string[] }[] = [];
    const held: (() => void)[] = [];
    // Each request is answered only when the test lets it go.
    client.embed = (request) => {
      embedCalls.push(request);
      return new Promise((resolve) => held.push(() => resolve(answered(request))));
    };
    const batching = createBatchingEmbeddingClient(client, { maxTexts: 32, maxWaitMs: 1, maxInFlight: 1 });
    const first = batching.embed({ texts: ['a'], kind: 'passage' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(embedCalls.map((c) => c.texts)).toEqual([['a']]);
    // Calls made while the one slot is taken wait, well past maxWaitMs, and then go together.
    const later = [
      batching.embed({ texts: ['bb'], kind: 'passage' }),
      batching.embed({ texts: ['ccc', 'dddd'], kind: 'passage' }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(embedCalls).toHaveLength(1);
    held.shift()?.();
    expect((await first).data.map((d) => d.dense?.[0])).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(embedCalls.map((c) => c.texts)).toEqual([['a'], ['bb', 'ccc', 'dddd']]);
    held.shift()?.();
    expect((await Promise.all(later)).map((a) => a.data.map((d) => d.dense?.[0]))).toEqual([[2], [3, 4]]);
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
