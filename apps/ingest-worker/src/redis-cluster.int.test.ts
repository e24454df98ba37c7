import { createEmbeddingClient } from '@rag/contracts/embedding-client';
import { insertCollection } from '@rag/db/collection-repository';
import { findDocument, insertDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { ingestEventsQueueName } from '@rag/ingest-contract/ingest-event';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { createLocalStorage } from '@rag/storage/local-storage';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { freePort } from '@rag/testing/free-port';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { type PrivateRedisCluster, startRedisCluster } from '@rag/testing/redis-cluster';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { lazyVectorStore } from '@rag/vector-store/lazy-vector-store';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { type Job, Queue, type Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectionLock } from './collection-lock.js';
import { createCollectionWriter } from './collection-writer.js';
import { createCompletionEvents } from './completion-events.js';
import { createDeadLetterQueue } from './dead-letter-queue.js';
import { createDocumentPipeline } from './document-pipeline.js';
import { createIngestProcessor } from './ingest-processor.js';
import { createIngestWorker } from './ingest-worker.js';
import { createWorkerMetrics } from './worker-metrics.js';

/**
 * The worker's Redis side against a real Redis Cluster of three masters, connected as `REDIS_CLUSTER=true`
 * connects it: the ingest queue, its retries, the dead letters and the completion events under the
 * hash-tagged prefix, and the collection writer lock, whose keys spread over the cluster.
 */
let cluster: PrivateRedisCluster;
let redis: RedisConnection;
let db: TestDatabase;
let milvus: MilvusLite;
let queue: Queue;
let deadLetterQueue: Queue;
let eventsQueue: Queue;
let worker: Worker;
let collectionId: string;
const keyPrefix = uniqueTestPrefix('cluster');
const settings = { cluster: true, keyPrefix };
const prefix = queueKeyPrefix(settings);

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedisConnection({ ...settings, url: cluster.url }, { maxRetriesPerRequest: null });
  db = await createTestDatabase('cluster', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  collectionId = (await insertCollection(db.pool, 'acme', 'docs'))!.id;
  milvus = await startMilvusLite();
  queue = new Queue(ingestQueueName, { connection: redis, prefix });
  deadLetterQueue = new Queue(deadLetterQueueName, { connection: redis, prefix });
  eventsQueue = new Queue(ingestEventsQueueName, { connection: redis, prefix });
  // Nothing listens on this port: every embedding call fails like an outage would.
  const embeddings = createEmbeddingClient({
    baseUrl: `http://127.0.0.1:${await freePort()}`,
    serviceToken: 'unused-because-nothing-listens-there',
    timeoutMs: 2_000,
  });
  const vectorStore = lazyVectorStore(
    async () => ({ model: 'cluster-test', dim: 8, hasSparse: true }),
    (space) => createMilvusStore({ address: milvus.address, collectionPrefix: `${keyPrefix}_`, space }),
  );
  const logger = createLogger({ service: 'ingest-worker-test', level: 'silent' });
  const storage = createLocalStorage({ root: `/tmp/${keyPrefix}-storage` });
  const lock = createCollectionLock({ redis, prefix: keyPrefix });
  worker = createIngestWorker({
    connection: redis,
    prefix,
    concurrency: 2,
    logger,
    deadLetters: createDeadLetterQueue({ connection: redis, prefix }),
    ...createWorkerMetrics(createServiceMetrics('ingest-worker-cluster-test'), queue),
    processor: createIngestProcessor({
      pool: db.pool,
      embeddings,
      vectorStore: vectorStore.get,
      storage,
      pipeline: createDocumentPipeline({
        storage,
        embeddings,
        limits: { maxInputBytes: 1_000_000 },
        overlapTokens: 8,
      }),
      collectionLock: lock,
      collectionWriter: createCollectionWriter({ lock }),
      events: createCompletionEvents({
        connection: redis,
        prefix,
        pool: db.pool,
        webhookAttempts: 1,
        webhookBackoffMs: 10,
      }),
      logger,
      embedBatchSize: 8,
    }),
  });
  void worker.run();
});

afterAll(async () => {
  await worker?.close();
  await Promise.all([queue?.close(), deadLetterQueue?.close(), eventsQueue?.close()]);
  redis?.disconnect();
  await cluster?.stop();
  await milvus?.stop();
  await db?.drop();
});

async function settled(job: Job): Promise<Job> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await job.getState();
    if (state === 'failed' || state === 'completed') return (await queue.getJob(job.id!))!;
    if (Date.now() > deadline) throw new Error(`job ${job.id} still ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function newDocument(text: string) {
  const document = (await insertDocument(db.pool, {
    tenantId: 'acme',
    collectionId,
    externalId: null,
    title: null,
    contentHash: text,
    metadata: {},
    acl: null,
  }))!;
  return {
    document,
    job: {
      v: 1,
      type: 'ingest',
      documentId: document.id,
      tenantId: 'acme',
      collectionId,
      version: 1,
      title: null,
      text,
    },
  };
}

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
    const { document } = await newDocument('To be deleted.');
    const job = { v: 1, type: 'delete', documentId: document.id, tenantId: 'acme', collectionId };
    const done = await settled(await queue.add('delete', job));
    expect(await done.getState()).toBe('completed');
    expect(done.returnvalue).toBe('deleted');
    expect(await findDocument(db.pool, 'acme', document.id)).toBeUndefined();
  });

  it('retries with backoff, then dead-letters the job and publishes document.failed', async () => {
    const { document, job } = await newDocument('A document that cannot be embedded right now.');
    const done = await settled(
      await queue.add('ingest', job, { attempts: 3, backoff: { type: 'fixed', delay: 50 } }),
    );
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(3);
    expect(await findDocument(db.pool, 'acme', document.id)).toMatchObject({ status: 'failed' });
    const letter = (await deadLetterQueue.getJob(`dead-${done.id}`))?.data;
    expect(letter).toMatchObject({ queue: 'ingest', jobId: done.id, data: { documentId: document.id } });
    const event = (await eventsQueue.getJob(`${document.id}-v1-failed`))?.data;
    expect(event).toMatchObject({ type: 'document.failed', documentId: document.id, collection: 'docs' });
  });

  it('fails a malformed job at once into the dead letters', async () => {
    const job = await queue.add('ingest', { v: 1, type: 'ingest', documentId: 'nope' }, { attempts: 5 });
    const done = await settled(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect((await deadLetterQueue.getJob(`dead-${job.id}`))?.data.reason).toMatch(/documentId/);
  });

  it('keeps every key of every queue in the one slot of its hash tag', async () => {
    const keys = (
      await Promise.all(
        cluster.ports.map(async (port) => (await cluster.cli(port, 'keys', `${prefix}*`)).split('\n')),
      )
    )
      .flat()
      .filter(Boolean);
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
