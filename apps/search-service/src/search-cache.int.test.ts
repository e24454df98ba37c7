import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { redisTopologies, startTestRedis, type TestRedis } from '@rag/testing/test-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerAt, createSearchCache, type SearchCache, type StoredAnswer } from './search-cache.js';

/**
 * The search cache against a real Redis, connected as the search service connects: the shared server, and a
 * Redis Cluster of three masters (`REDIS_CLUSTER=true`). Every entry is one key read or written alone, so
 * entries spread over a cluster's nodes, and invalidation is a new index version that the stored entries do
 * not carry, never a multi-key delete.
 */
const answer = (text: string, indexVersion: number): StoredAnswer => ({
  index: { indexVersion, model: 'tiny' },
  answer: {
    results: [],
    signals: ['dense', text],
    fusion: 'rrf',
    weights: {},
    reranked: false,
    nextOffset: null,
    indexVersion,
    tookMs: 1,
    timings: { embedMs: 1, vectorMs: 1, databaseMs: 1, rerankMs: 0, totalMs: 3, cached: false },
  },
});

describe.each(redisTopologies)('search cache on a Redis %s', (topology) => {
  let target: TestRedis;
  let redis: RedisConnection;
  let cache: SearchCache;

  beforeAll(async () => {
    target = await startTestRedis(topology, 'cache');
    redis = createRedisConnection(target.settings, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
    });
    await new Promise((resolve) => redis.once('ready', resolve));
    cache = createSearchCache(redis, {
      keyPrefix: target.settings.keyPrefix,
      embeddingTtlSeconds: 60,
      answerTtlSeconds: 60,
      onError: (error) => {
        throw error;
      },
    });
  });

  afterAll(async () => {
    redis?.disconnect();
    await target?.stop();
  });

  it("never serves one tenant's query embedding to another, so a hit cannot reveal their searches", async () => {
    const query = { model: 'tiny', outputs: ['dense'], query: 'merger plans with globex' };
    const embedding = { tokens: 5, dense: [0.6, 0.8] };
    await cache.putEmbedding({ tenantId: 'acme', ...query }, embedding);
    expect(await cache.getEmbedding({ tenantId: 'acme', ...query })).toEqual(embedding);
    expect(await cache.getEmbedding({ tenantId: 'globex', ...query })).toBeUndefined();
  });

  it("stops serving a collection's answers once its index version moves on", async () => {
    const key = { tenantId: 'acme', collectionId: 'c1', request: { query: 'travel policy' } };
    await cache.putAnswer(key, answer('first', 7));
    const stored = await cache.getAnswer(key);
    expect(answerAt(stored, { indexVersion: 7, model: 'tiny' })?.signals).toEqual(['dense', 'first']);
    expect(answerAt(stored, { indexVersion: 8, model: 'tiny' })).toBeUndefined();
  });

  it.runIf(topology === 'cluster')('spreads its entries over the nodes of the cluster', async () => {
    for (let i = 0; i < 30; i++) {
      await cache.putAnswer(
        { tenantId: 'acme', collectionId: 'c2', request: { query: `q${i}` } },
        answer(`q${i}`, 1),
      );
    }
    const { cluster, settings } = target;
    // Only this collection's answers, whatever the tests before left.
    const pattern = `${settings.keyPrefix}:search:answer*:acme:c2:*`;
    const perNode = await Promise.all(
      (cluster?.ports ?? []).map(
        async (port) => (await cluster!.cli(port, 'keys', pattern)).split('\n').filter(Boolean).length,
      ),
    );
    expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(30);
    expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
  });
});
