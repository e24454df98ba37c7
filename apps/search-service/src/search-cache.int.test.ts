import { uniqueTestPrefix } from '@rag/testing/test-database';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchCache, type SearchCache } from './search-cache.js';

let redis: Redis;
let cache: SearchCache;
const keyPrefix = uniqueTestPrefix('cache');

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  cache = createSearchCache(redis, {
    keyPrefix,
    embeddingTtlSeconds: 60,
    answerTtlSeconds: 60,
    onError: (error) => {
      throw error;
    },
  });
});

afterAll(async () => {
  const keys = await redis.keys(`${keyPrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('query-embedding cache', () => {
  it("never serves one tenant's query embedding to another, so a hit cannot reveal their searches", async () => {
    const query = { model: 'tiny', outputs: ['dense'], query: 'merger plans with globex' };
    const embedding = { tokens: 5, dense: [0.6, 0.8] };
    await cache.putEmbedding({ tenantId: 'acme', ...query }, embedding);
    expect(await cache.getEmbedding({ tenantId: 'acme', ...query })).toEqual(embedding);
    expect(await cache.getEmbedding({ tenantId: 'globex', ...query })).toBeUndefined();
  });
});
