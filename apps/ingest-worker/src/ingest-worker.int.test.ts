import { findDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { freePort } from '@rag/testing/free-port';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { startTestRedis, type TestRedis } from '@rag/testing/test-redis';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIngestWorker, type TestIngestWorker } from './test-ingest-worker.js';

/**
 * The worker against real Redis/BullMQ, PostgreSQL and Milvus Lite, with the embedding service down: what
 * a poison job and a transient outage do to the queue and to the document's status.
 */
let db: TestDatabase;
let milvus: MilvusLite;
let redis: TestRedis;
let connection: RedisConnection;
let stack: TestIngestWorker;
let queue: Queue;
let deadLetterQueue: Queue;

beforeAll(async () => {
  db = await createTestDatabase('worker', migrate);
  milvus = await startMilvusLite();
  redis = await startTestRedis('server', 'worker');
  connection = createRedisConnection(redis.settings, { maxRetriesPerRequest: null });
  stack = await startTestIngestWorker({
    redis: connection,
    queuePrefix: redis.settings.keyPrefix,
    keyPrefix: redis.settings.keyPrefix,
    pool: db.pool,
    milvusAddress: milvus.address,
    embeddingUrl: `http://127.0.0.1:${await freePort()}`,
    concurrency: 1,
    service: 'ingest-worker-test',
  });
  ({ queue, deadLetterQueue } = stack);
});

afterAll(async () => {
  await stack?.close();
  connection?.disconnect();
  await redis?.stop();
  await milvus?.stop();
  await db?.drop();
});

const settled: TestIngestWorker['settled'] = (job) => stack.settled(job);
const newDocument: TestIngestWorker['newDocument'] = (text) => stack.newDocument(text);

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
    const job = stack.deleteJob(document.id);
    const done = await settled(await queue.add('delete', job));
    expect(await done.getState()).toBe('completed');
    expect(await findDocument(db.pool, 'acme', document.id)).toBeUndefined();
    // A job of this test's own that fails, so the failed gauge counts something whatever ran before.
    await settled(await queue.add('ingest', { v: 1, type: 'ingest', documentId: 'nope' }));
    const { failed } = await queue.getJobCounts('failed');
    const text = await stack.metrics.registry.metrics();
    expect(text).toMatch(
      /ingest_jobs_total\{type="delete",outcome="deleted",service="ingest-worker-test"\} 1/,
    );
    expect(failed).toBeGreaterThan(0);
    expect(text).toContain(`ingest_queue_depth{state="failed",service="ingest-worker-test"} ${failed}\n`);
  });

  it('still runs the jobs earlier releases queued: version 1 ingest and delete, version 2 ingest of a version', async () => {
    const { document } = await newDocument(' \n ');
    const legacy = { tenantId: 'acme', documentId: document.id, version: 1 };
    const v1 = {
      ...legacy,
      v: 1,
      type: 'ingest',
      collectionId: stack.collectionId,
      title: null,
      text: ' \n ',
    };
    const v2 = {
      ...legacy,
      v: 2,
      type: 'ingest',
      collection: 'docs',
      content: { kind: 'inline', text: ' \n ' },
    };
    for (const job of [v1, v2]) {
      const done = await settled(await queue.add('ingest', job, { attempts: 5 }));
      expect(done.attemptsMade).toBe(1);
      expect(done.failedReason).toMatch(/the document text is empty/);
    }
    const deleted = {
      v: 1,
      type: 'delete',
      tenantId: 'acme',
      documentId: document.id,
      collectionId: stack.collectionId,
    };
    expect(await (await settled(await queue.add('delete', deleted))).getState()).toBe('completed');
    expect(await findDocument(db.pool, 'acme', document.id)).toBeUndefined();
  });
});
