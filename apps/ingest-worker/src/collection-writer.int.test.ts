import type { VersionSwap } from '@rag/db/document-version';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { uniqueTestPrefix } from '@rag/testing/test-database';
import type { ChunkVectorRow, VectorScope } from '@rag/vector-store/chunk-vector-store';
import { createMilvusStore, type MilvusStore } from '@rag/vector-store/milvus-store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectionLock, createCollectionLock } from './collection-lock.js';
import { createCollectionWriter } from './collection-writer.js';

/**
 * A writer that loses its collection lock in the middle of a write (it expired, or another writer took
 * it) against real Redis and Milvus Lite: it must stop writing, fail retryably, and its retry must leave
 * exactly one copy of every row.
 */
const prefix = uniqueTestPrefix('writer');
const scope: VectorScope = { tenantId: 'acme', collectionId: 'docs' };
let milvus: MilvusLite;
let redis: Redis;
let store: MilvusStore;

beforeAll(async () => {
  milvus = await startMilvusLite();
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  store = createMilvusStore({
    address: milvus.address,
    collectionPrefix: `${prefix}_`,
    space: { model: 'writer-test', dim: 4, hasSparse: false },
  });
  await store.ensureReady();
});

afterAll(async () => {
  const keys = await redis?.keys(`${prefix}*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await store?.close();
  await milvus?.stop();
});

function rows(documentId: string, count: number): ChunkVectorRow[] {
  return Array.from({ length: count }, (_, ordinal) => ({
    ...scope,
    documentId,
    chunkId: `${documentId}-${ordinal}`,
    dense: [1, ordinal, 0, 0].map((v) => v / Math.hypot(1, ordinal)),
    acl: null,
  }));
}

describe('collection writer', () => {
  it('stops writing when it loses its lock mid-write, and the retried write leaves no duplicates', async () => {
    // A short time to live, so the heartbeat notices the theft within the test.
    const lock = createCollectionLock({ redis, prefix, ttlMs: 600 });
    let signal: AbortSignal | undefined;
    const watchedLock: CollectionLock = {
      withLock: (collectionId, work) =>
        lock.withLock(collectionId, (given) => {
          signal = given;
          return work(given);
        }),
    };
    const lockKey = `${prefix}:collection-writer:${scope.collectionId}`;
    let stealOnInsert = true;
    const calls: string[] = [];
    const faultyStore: MilvusStore = {
      ...store,
      async insert(batch) {
        calls.push('insert');
        await store.insert(batch);
        if (!stealOnInsert) return;
        stealOnInsert = false;
        // Another writer takes the collection: our token is gone, as after an expiry and a new holder.
        await redis.set(lockKey, 'another-writer', 'PX', 60_000);
        if (!signal!.aborted) {
          await new Promise((resolve) => signal!.addEventListener('abort', resolve, { once: true }));
        }
      },
      async flush() {
        calls.push('flush');
        await store.flush();
      },
    };
    const writer = createCollectionWriter({ lock: watchedLock });
    const documentRows = rows('doc-1', 5);
    let swaps = 0;
    const write = () =>
      writer.write(faultyStore, scope.collectionId, {
        scope,
        rows: documentRows,
        swap: async () => {
          swaps++;
          const fields = { acl: null, metadata: {} };
          return { swapped: true, replacedChunkIds: [], previousVersion: null, fields } as VersionSwap;
        },
      });

    const failed = await write().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ code: 'dependency_unavailable', retryable: true });
    expect((failed as Error).message).toMatch(/Lost the writer lock of collection docs/);
    // Nothing after the insert: no flush, no PostgreSQL swap while the other writer holds the lock.
    expect(calls).toEqual(['insert']);
    expect(swaps).toBe(0);
    // The other writer is not disturbed: its lock is still there.
    expect(await redis.get(lockKey)).toBe('another-writer');

    // The other writer finishes; the job's retry writes the same rows again.
    await redis.del(lockKey);
    await write();
    expect(swaps).toBe(1);
    expect(await store.countByDocument(scope, 'doc-1')).toBe(documentRows.length);
  });
});
