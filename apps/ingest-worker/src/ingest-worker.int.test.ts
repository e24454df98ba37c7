import { createEmbeddingClient } from '@rag/contracts/embedding-client';
import { insertCollection } from '@rag/db/collection-repository';
import { findDocument, insertDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { createLocalStorage } from '@rag/storage/local-storage';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { freePort } from '@rag/testing/free-port';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { lazyVectorStore } from '@rag/vector-store/lazy-vector-store';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { type Job, Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
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
 * The worker against real Redis/BullMQ, PostgreSQL and Milvus Lite, with the embedding service down: what
 * a poison job and a transient outage do to the queue and to the document's status.
 */
let db: TestDatabase;
let milvus: MilvusLite;
let redis: Redis;
let queue: Queue;
let deadLetterQueue: Queue;
let worker: Worker;
let collectionId: string;
const prefix = uniqueTestPrefix('worker');
const metrics = createServiceMetrics('ingest-worker-test');

beforeAll(async () => {
  db = await createTestDatabase('worker', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  collectionId = (await insertCollection(db.pool, 'acme', 'docs'))!.id;
  milvus = await startMilvusLite();
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue(ingestQueueName, { connection: redis, prefix });
  deadLetterQueue = new Queue(deadLetterQueueName, { connection: redis, prefix });
  // Nothing listens on this port: every embedding call fails like an outage would.
  const embeddings = createEmbeddingClient({
    baseUrl: `http://127.0.0.1:${await freePort()}`,
    serviceToken: 'unused-because-nothing-listens-there',
    timeoutMs: 2_000,
  });
  const vectorStore = lazyVectorStore(
    async () => ({ model: 'worker-test', dim: 8, hasSparse: true }),
    (space) => createMilvusStore({ address: milvus.address, collectionPrefix: `${prefix}_`, space }),
  );
  const logger = createLogger({ service: 'ingest-worker-test', level: 'silent' });
  const storage = createLocalStorage({ root: `/tmp/${prefix}-storage` });
  worker = createIngestWorker({
    connection: redis,
    prefix,
    concurrency: 1,
    logger,
    deadLetters: createDeadLetterQueue({ connection: redis, prefix }),
    ...createWorkerMetrics(metrics, queue),
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
      collectionLock: createCollectionLock({ redis, prefix }),
      collectionWriter: createCollectionWriter({ lock: createCollectionLock({ redis, prefix }) }),
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
  await queue?.obliterate({ force: true });
  await queue?.close();
  await deadLetterQueue?.obliterate({ force: true });
  await deadLetterQueue?.close();
  redis?.disconnect();
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
  const job = {
    v: 1,
    type: 'ingest',
    documentId: document.id,
    tenantId: 'acme',
    collectionId,
    version: 1,
    title: null,
    text,
  };
  return { document, job };
}

describe('ingest worker', () => {
  it('fails a malformed job at once, without retries, naming what is wrong', async () => {
    const job = await queue.add('ingest', { v: 1, type: 'ingest', documentId: 'nope' }, { attempts: 5 });
    const done = await settled(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toMatch(/^Invalid ingest job: .*documentId/);
    const letter = (await deadLetterQueue.getJob(`dead-${job.id}`))?.data;
    expect(letter).toMatchObject({ queue: 'ingest', jobId: job.id, data: { documentId: 'nope' } });
    expect(letter.reason).toMatch(/documentId/);
  });

  it('marks the document an invalid job names as failed, with the reason', async () => {
    const { document, job } = await newDocument('Text of a job that a producer got wrong.');
    const done = await settled(await queue.add('ingest', { ...job, version: 'one' }, { attempts: 5 }));
    expect(done.attemptsMade).toBe(1);
    const stored = await findDocument(db.pool, 'acme', document.id);
    expect(stored).toMatchObject({ status: 'failed' });
    expect(stored?.error).toMatch(/^validation_failed: Invalid ingest job: version:/);
  });

  it('refuses a version 2 job for a collection that does not exist, at once and into the dead letters', async () => {
    const job = {
      v: 2,
      type: 'ingest',
      tenantId: 'acme',
      collection: 'no-such-collection',
      externalId: 'doc-1',
      content: { kind: 'inline', text: 'Some text.' },
    };
    const done = await settled(await queue.add('ingest', job, { attempts: 5 }));
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toBe('Collection "no-such-collection" does not exist in tenant "acme"');
    expect((await deadLetterQueue.getJob(`dead-${done.id}`))?.data.reason).toBe(done.failedReason);
  });

  it('retries while the embedding service is down, then marks the document failed with a safe reason', async () => {
    const { document, job } = await newDocument('A document that cannot be embedded right now.');
    const added = await queue.add('ingest', job, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    const done = await settled(added);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(3);
    const stored = await findDocument(db.pool, 'acme', document.id);
    expect(stored).toMatchObject({ status: 'failed', chunkCount: 0 });
    // The tenant reads a code and the job to quote; the service's name and address stay in the logs.
    expect(stored?.error).toBe(
      `dependency_unavailable: A service this request needs is unavailable; try again later; quote job ${done.id} when reporting it.`,
    );
    expect(done.failedReason).toMatch(/embedding-service is unreachable/);
    // What Redis keeps of the ended job and its dead letter: references, not the document's text.
    const letter = (await deadLetterQueue.getJob(`dead-${done.id}`))?.data;
    expect(letter.data).toMatchObject({ documentId: document.id, omittedText: { length: job.text.length } });
    expect(JSON.stringify(letter)).not.toContain('cannot be embedded');
    expect(JSON.stringify(done.data)).not.toContain('cannot be embedded');
  });

  it('fails a document with nothing to index on the first attempt', async () => {
    const { document, job } = await newDocument(' \n\t ');
    const done = await settled(await queue.add('ingest', job, { attempts: 5 }));
    expect(done.attemptsMade).toBe(1);
    expect((await findDocument(db.pool, 'acme', document.id))?.error).toMatch(
      /^validation_failed: .*the document text is empty/,
    );
  });

  it('deletes a document row and counts outcomes in its metrics', async () => {
    const { document } = await newDocument('To be deleted.');
    const job = { v: 1, type: 'delete', documentId: document.id, tenantId: 'acme', collectionId };
    const done = await settled(await queue.add('delete', job));
    expect(await done.getState()).toBe('completed');
    expect(await findDocument(db.pool, 'acme', document.id)).toBeUndefined();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /ingest_jobs_total\{type="delete",outcome="deleted",service="ingest-worker-test"\} 1/,
    );
    expect(text).toMatch(/ingest_queue_depth\{state="failed",service="ingest-worker-test"\} 5/);
  });
});
