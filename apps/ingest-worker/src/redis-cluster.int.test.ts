import { findDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { freePort } from '@rag/testing/free-port';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import type { PrivateRedisCluster } from '@rag/testing/redis-cluster';
import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { startTestRedis, type TestRedis } from '@rag/testing/test-redis';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectionLock } from './collection-lock.js';
import { startTestIngestWorker, type TestIngestWorker } from './test-ingest-worker.js';

/**
 * The worker's Redis side against a real Redis Cluster of three masters, connected as `REDIS_CLUSTER=true`
 * connects it: the ingest queue, its retries, the dead letters and the completion events under the
 * hash-tagged prefix, and the collection writer lock, whose keys spread over the cluster. The same worker
 * on the shared Redis server is in ingest-worker.int.test.ts.
 */
let target: TestRedis;
let cluster: PrivateRedisCluster;
let redis: RedisConnection;
let db: TestDatabase;
let milvus: MilvusLite;
let stack: TestIngestWorker;
let keyPrefix: string;
let prefix: string;

beforeAll(async () => {
  target = await startTestRedis('cluster', 'cluster');
  cluster = target.cluster!;
  keyPrefix = target.settings.keyPrefix;
  prefix = queueKeyPrefix(target.settings);
  redis = createRedisConnection(target.settings, { maxRetriesPerRequest: null });
  db = await createTestDatabase('cluster', migrate);
  milvus = await startMilvusLite();
  stack = await startTestIngestWorker({
    redis,
    queuePrefix: prefix,
    keyPrefix,
    pool: db.pool,
    milvusAddress: milvus.address,
    embeddingUrl: `http://127.0.0.1:${await freePort()}`,
    concurrency: 2,
    service: 'ingest-worker-cluster-test',
  });
});

afterAll(async () => {
  await stack?.close();
  redis?.disconnect();
  await target?.stop();
  await milvus?.stop();
  await db?.drop();
});

describe('ingest queue on a Redis Cluster', () => {
  it('needs the hash-tagged prefix: under a plain one BullMQ cannot even add a job', async () => {
    const plain = new Queue(ingestQueueName, { connection: redis, prefix: keyPrefix });
    try {
      await expect(plain.add('ingest', { v: 1 })).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await plain.close();
    }
    expect(prefix).toBe(`{${keyPrefix}}`);
  });

  it('runs a job to completion: a document deleted under the collection writer lock', async () => {
    const { document } = await stack.newDocument('To be deleted.');
    const job = stack.deleteJob(document.id);
    const done = await stack.settled(await stack.queue.add('delete', job));
    expect(await done.getState()).toBe('completed');
    expect(done.returnvalue).toBe('deleted');
    expect(await findDocument(db.pool, 'acme', document.id)).toBeUndefined();
  });

  it('retries with backoff, then dead-letters the job and publishes document.failed', async () => {
    const { document, job } = await stack.newDocument('A document that cannot be embedded right now.');
    const done = await stack.settled(
      await stack.queue.add('ingest', job, { attempts: 3, backoff: { type: 'fixed', delay: 50 } }),
    );
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(3);
    expect(await findDocument(db.pool, 'acme', document.id)).toMatchObject({ status: 'failed' });
    const letter = (await stack.deadLetterQueue.getJob(`dead-${done.id}`))?.data;
    expect(letter).toMatchObject({ queue: 'ingest', jobId: done.id, data: { documentId: document.id } });
    const event = (await stack.eventsQueue.getJob(`${document.id}-v1-failed`))?.data;
    expect(event).toMatchObject({ type: 'document.failed', documentId: document.id, collection: 'docs' });
  });

  it('fails a malformed job at once into the dead letters', async () => {
    const job = await stack.queue.add(
      'ingest',
      { v: 1, type: 'ingest', documentId: 'nope' },
      { attempts: 5 },
    );
    const done = await stack.settled(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect((await stack.deadLetterQueue.getJob(`dead-${job.id}`))?.data.reason).toMatch(/documentId/);
  });

  it('keeps every key of every queue in the one slot of its hash tag', async () => {
    const keys = await target.keys(`${prefix}*`);
    expect(keys.some((key) => key.startsWith(`${prefix}:${ingestQueueName}:`))).toBe(true);
    expect(keys.some((key) => key.startsWith(`${prefix}:${deadLetterQueueName}:`))).toBe(true);
    const slots = new Set(
      await Promise.all(
        keys.map(async (key) => (await cluster.cli(cluster.ports[0]!, 'cluster', 'keyslot', key)).trim()),
      ),
    );
    expect(slots.size).toBe(1);
  });
});

describe('collection writer lock on a Redis Cluster', () => {
  const lockKey = (collection: string) => `${keyPrefix}:collection-writer:${collection}`;

  it('is held while its work runs and released after it', async () => {
    const lock = createCollectionLock({ redis, prefix: keyPrefix });
    const seen = await lock.withLock('acquire', async () => ({
      holder: await redis.get(lockKey('acquire')),
      ttl: await redis.pttl(lockKey('acquire')),
    }));
    expect(seen.holder).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.ttl).toBeGreaterThan(0);
    expect(await redis.exists(lockKey('acquire'))).toBe(0);
  });

  it('lets one writer in at a time, and turns a writer away retryably once it waited long enough', async () => {
    const lock = createCollectionLock({ redis, prefix: keyPrefix });
    const impatient = createCollectionLock({ redis, prefix: keyPrefix, waitMs: 100 });
    let inside = 0;
    let most = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = lock.withLock('contend', async () => {
      inside++;
      most = Math.max(most, inside);
      await released;
      inside--;
    });
    // Give the first writer the lock before the others ask.
    while ((await redis.exists(lockKey('contend'))) === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const second = lock.withLock('contend', async () => {
      inside++;
      most = Math.max(most, inside);
      inside--;
      return 'second ran';
    });
    await expect(impatient.withLock('contend', async () => 'never')).rejects.toMatchObject({
      code: 'dependency_unavailable',
      retryable: true,
      message: 'Collection contend is busy with another writer',
    });
    release();
    await first;
    expect(await second).toBe('second ran');
    expect(most).toBe(1);
  });

  it('renews the lock while the work outlasts its time to live', async () => {
    const lock = createCollectionLock({ redis, prefix: keyPrefix, ttlMs: 300 });
    const aborted = await lock.withLock('renew', async (signal) => {
      // Three times the time to live: without renewals the key would have expired twice over.
      await new Promise((resolve) => setTimeout(resolve, 900));
      return { aborted: signal.aborted, held: await redis.exists(lockKey('renew')) };
    });
    expect(aborted).toEqual({ aborted: false, held: 1 });
  });

  it('tells the work when another writer took the lock, and leaves that writer its lock', async () => {
    const lock = createCollectionLock({ redis, prefix: keyPrefix, ttlMs: 300 });
    const reason = await lock.withLock('lose', async (signal) => {
      await redis.set(lockKey('lose'), 'another-writer', 'PX', 10_000);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return (signal.reason as Error).message;
    });
    expect(reason).toBe('Lost the writer lock of collection lose: another writer holds it or it expired');
    expect(await redis.get(lockKey('lose'))).toBe('another-writer');
    await redis.del(lockKey('lose'));
  });
});
