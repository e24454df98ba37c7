import type { InternalSearchResponse } from '@rag/contracts/search-api';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { type PrivateRedisCluster, startRedisCluster } from '@rag/testing/redis-cluster';
import { uniqueTestPrefix } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchCache, type SearchCache } from './search-cache.js';

/**
 * The search cache against a real Redis Cluster of three masters, connected as the search service connects
 * with `REDIS_CLUSTER=true`. Every entry is one key read or written alone, so entries spread over the
 * cluster's nodes, and invalidation is a new key (the collection's index version), never a multi-key delete.
 */
const keyPrefix = uniqueTestPrefix('searchcluster');
let cluster: PrivateRedisCluster;
let redis: RedisConnection;
let cache: SearchCache;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedisConnection(
    { url: cluster.url, cluster: true },
    { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 },
  );
  await new Promise((resolve) => redis.once('ready', resolve));
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
  redis?.disconnect();
  await cluster?.stop();
});

const answer = (text: string, indexVersion: number): InternalSearchResponse => ({
  results: [],
  signals: ['dense', text],
  fusion: 'rrf',
  weights: {},
  reranked: false,
  nextOffset: null,
  indexVersion,
  tookMs: 1,
  timings: { embedMs: 1, vectorMs: 1, databaseMs: 1, rerankMs: 0, totalMs: 3, cached: false },
});

describe('search cache on a Redis Cluster', () => {
  it('serves a cached embedding to its tenant only', async () => {
    const query = { model: 'tiny', outputs: ['dense'], query: 'merger plans with globex' };
    await cache.putEmbedding({ tenantId: 'acme', ...query }, { tokens: 5, dense: [0.6, 0.8] });
    expect(await cache.getEmbedding({ tenantId: 'acme', ...query })).toEqual({
      tokens: 5,
      dense: [0.6, 0.8],
    });
    expect(await cache.getEmbedding({ tenantId: 'globex', ...query })).toBeUndefined();
  });

  it("stops serving a collection's answers once its index version moves on", async () => {
    const key = { tenantId: 'acme', collectionId: 'c1', request: { query: 'travel policy' } };
    await cache.putAnswer({ ...key, indexVersion: 7 }, answer('first', 7));
    expect((await cache.getAnswer({ ...key, indexVersion: 7 }))?.signals).toEqual(['dense', 'first']);
    expect(await cache.getAnswer({ ...key, indexVersion: 8 })).toBeUndefined();
  });

  it('spreads its entries over the nodes of the cluster', async () => {
    for (let i = 0; i < 30; i++) {
      await cache.putAnswer(
        { tenantId: 'acme', collectionId: 'c2', indexVersion: 1, request: { query: `q${i}` } },
        answer(`q${i}`, 1),
      );
    }
    const perNode = await Promise.all(
      cluster.ports.map(
        async (port) =>
          (await cluster.cli(port, 'keys', `${keyPrefix}:search:*`)).split('\n').filter(Boolean).length,
      ),
    );
    expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(32);
    expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
  });
});
