import type { RedisConnection } from '@rag/redis/redis-connection';
import { describe, expect, it } from 'vitest';
import { answerAt, createSearchCache, noSearchCache, type StoredAnswer } from './search-cache.js';

/** Redis on a Map: the two commands the cache uses, each write recorded with its expiry. */
function fakeRedis(failing = false) {
  const values = new Map<string, string>();
  const writes: Array<{ key: string; mode: string; ttl: number }> = [];
  const redis = {
    async get(key: string) {
      if (failing) throw new Error('Connection is closed.');
      return values.get(key) ?? null;
    },
    async set(key: string, value: string, mode: string, ttl: number) {
      if (failing) throw new Error('Connection is closed.');
      values.set(key, value);
      writes.push({ key, mode, ttl });
      return 'OK';
    },
  };
  return { redis: redis as unknown as RedisConnection, values, writes };
}

const index = { indexVersion: 7, model: 'tiny' };

const answer = (marker: string, at = index): StoredAnswer => ({
  index: at,
  answer: {
    results: [],
    signals: ['dense', marker],
    fusion: 'rrf',
    weights: {},
    reranked: false,
    nextOffset: null,
    indexVersion: at.indexVersion,
    tookMs: 1,
    timings: { embedMs: 1, vectorMs: 1, databaseMs: 1, rerankMs: 0, totalMs: 3, cached: false },
  },
});

/** The cached answer's marker, served at the given index (undefined: a miss). */
const servedAt = (stored: StoredAnswer | undefined, at = index) => answerAt(stored, at)?.signals;

function cacheOn(fake: ReturnType<typeof fakeRedis>, ttls = { embedding: 60, answer: 30 }) {
  const errors: unknown[] = [];
  const cache = createSearchCache(fake.redis, {
    keyPrefix: 'rag',
    embeddingTtlSeconds: ttls.embedding,
    answerTtlSeconds: ttls.answer,
    onError: (error) => errors.push(error),
  });
  return { cache, errors };
}

const embeddingKey = {
  tenantId: 'acme',
  model: 'tiny',
  outputs: ['dense', 'sparse'],
  query: 'travel policy',
};
const answerKey = {
  tenantId: 'acme',
  collectionId: 'c1',
  request: { query: 'travel', topK: 5 },
};

describe('query-embedding cache keys', () => {
  it('keep one tenant apart from another, and one model apart from another', async () => {
    const fake = fakeRedis();
    const { cache } = cacheOn(fake);
    await cache.putEmbedding(embeddingKey, { tokens: 2, dense: [1, 0] });
    expect(await cache.getEmbedding(embeddingKey)).toEqual({ tokens: 2, dense: [1, 0] });
    expect(await cache.getEmbedding({ ...embeddingKey, tenantId: 'globex' })).toBeUndefined();
    expect(await cache.getEmbedding({ ...embeddingKey, model: 'other' })).toBeUndefined();
    expect(await cache.getEmbedding({ ...embeddingKey, query: 'travel policy 2' })).toBeUndefined();
    // The tenant stands in the key in clear (one key per entry, under the service's prefix).
    expect([...fake.values.keys()]).toEqual([expect.stringMatching(/^rag:search:embedding:acme:[\w-]+$/)]);
  });

  it('do not depend on the order the outputs are asked in, but on which they are', async () => {
    const { cache } = cacheOn(fakeRedis());
    await cache.putEmbedding(embeddingKey, { tokens: 2, dense: [1, 0] });
    expect(await cache.getEmbedding({ ...embeddingKey, outputs: ['sparse', 'dense'] })).toBeDefined();
    expect(await cache.getEmbedding({ ...embeddingKey, outputs: ['dense'] })).toBeUndefined();
  });
});

describe('answer cache keys and invalidation', () => {
  it("miss once the collection's index version moves on: a write makes every older answer unusable", async () => {
    const { cache } = cacheOn(fakeRedis());
    await cache.putAnswer(answerKey, answer('v7'));
    expect(servedAt(await cache.getAnswer(answerKey))).toEqual(['dense', 'v7']);
    expect(servedAt(await cache.getAnswer(answerKey), { ...index, indexVersion: 8 })).toBeUndefined();
    // Nor is an answer of a later version served to a search that read an earlier one.
    expect(servedAt(await cache.getAnswer(answerKey), { ...index, indexVersion: 6 })).toBeUndefined();
  });

  it('miss when the index was built by another model, at the same version', async () => {
    const { cache } = cacheOn(fakeRedis());
    await cache.putAnswer(answerKey, answer('tiny'));
    expect(servedAt(await cache.getAnswer(answerKey), { ...index, model: 'other' })).toBeUndefined();
  });

  it('hold one answer per request: the answer of the new version replaces the older one', async () => {
    const fake = fakeRedis();
    const { cache } = cacheOn(fake);
    await cache.putAnswer(answerKey, answer('v7'));
    await cache.putAnswer(answerKey, answer('v8', { ...index, indexVersion: 8 }));
    expect(fake.values.size).toBe(1);
    expect(servedAt(await cache.getAnswer(answerKey), { ...index, indexVersion: 8 })).toEqual([
      'dense',
      'v8',
    ]);
    expect(servedAt(await cache.getAnswer(answerKey))).toBeUndefined();
  });

  it('tell tenants, collections and requests apart', async () => {
    const { cache } = cacheOn(fakeRedis());
    await cache.putAnswer(answerKey, answer('first'));
    expect(await cache.getAnswer({ ...answerKey, tenantId: 'globex' })).toBeUndefined();
    expect(await cache.getAnswer({ ...answerKey, collectionId: 'c2' })).toBeUndefined();
    expect(await cache.getAnswer({ ...answerKey, request: { query: 'travel', topK: 6 } })).toBeUndefined();
    expect(servedAt(await cache.getAnswer({ ...answerKey, request: { query: 'travel', topK: 5 } }))).toEqual([
      'dense',
      'first',
    ]);
  });

  it('serve nothing from an entry that carries no index', () => {
    expect(answerAt({ answer: answer('x').answer } as unknown as StoredAnswer, index)).toBeUndefined();
    expect(answerAt(undefined, index)).toBeUndefined();
  });

  it('expire: each entry is written with its own time to live, and a time to live of 0 writes nothing', async () => {
    const fake = fakeRedis();
    await cacheOn(fake).cache.putEmbedding(embeddingKey, { tokens: 2 });
    await cacheOn(fake).cache.putAnswer(answerKey, answer('x'));
    expect(fake.writes.map(({ mode, ttl }) => [mode, ttl])).toEqual([
      ['EX', 60],
      ['EX', 30],
    ]);
    const off = fakeRedis();
    const { cache } = cacheOn(off, { embedding: 0, answer: 0 });
    await cache.putEmbedding(embeddingKey, { tokens: 2 });
    await cache.putAnswer(answerKey, answer('x'));
    expect(off.writes).toEqual([]);
  });
});

describe('cache writes', () => {
  it("leave the caller's turn of the event loop alone: the answer goes out before its cache write", async () => {
    const fake = fakeRedis();
    const { cache } = cacheOn(fake);
    const written = Promise.all([
      cache.putEmbedding(embeddingKey, { tokens: 2, dense: [1, 0] }),
      cache.putAnswer(answerKey, answer('later')),
    ]);
    // Every promise callback of the caller's turn (its awaits, a response's serialization) runs first.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(fake.writes).toEqual([]);
    await written;
    expect(fake.writes).toHaveLength(2);
    expect(servedAt(await cache.getAnswer(answerKey))).toEqual(['dense', 'later']);
  });
});

describe('a failing cache', () => {
  it('is skipped, never fatal: misses and no-op writes, each error reported', async () => {
    const { cache, errors } = cacheOn(fakeRedis(true));
    expect(await cache.getEmbedding(embeddingKey)).toBeUndefined();
    await cache.putEmbedding(embeddingKey, { tokens: 2 });
    expect(await cache.getAnswer(answerKey)).toBeUndefined();
    await cache.putAnswer(answerKey, answer('x'));
    expect(errors.map((error) => (error as Error).message)).toEqual(Array(4).fill('Connection is closed.'));
  });

  it('is what deployments without one get: noSearchCache never hits', async () => {
    await noSearchCache.putAnswer(answerKey, answer('x'));
    expect(await noSearchCache.getAnswer(answerKey)).toBeUndefined();
    expect(await noSearchCache.getEmbedding(embeddingKey)).toBeUndefined();
  });
});
