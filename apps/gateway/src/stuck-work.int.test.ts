import type { Server } from 'node:http';
import type { Principal } from '@rag/auth/principal';
import { deleteCollection, findCollectionByName, insertCollection } from '@rag/db/collection-repository';
import { findDocument, insertDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { type PrivateRedis, startPrivateRedis } from '@rag/testing/redis-server';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestQueue, type IngestQueue } from './ingest-queue.js';
import { uncachedRequests } from './request-cache.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { lostJobReason, requeueStuckWork } from './stuck-work-sweeper.js';

/**
 * Redis going down between the gateway's PostgreSQL record of an action and its queued job: a private
 * redis-server (never the shared one) is stopped and started again under the gateway's routes.
 */
const prefix = uniqueTestPrefix('stuck');
let db: TestDatabase;
let redisServer: PrivateRedis;
let redis: Redis;
let queue: IngestQueue;
let jobs: Queue;
let server: Server;
let base: string;

const admin: Principal = {
  tenantId: 'acme',
  role: 'admin',
  collections: null,
  system: false,
  keyId: 'test-key',
  subject: null,
  principals: null,
};

beforeAll(async () => {
  db = await createTestDatabase('stuck', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  redisServer = await startPrivateRedis();
  // As the gateway connects: no offline queue, so commands fail at once while Redis is down.
  redis = new Redis(redisServer.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await new Promise((resolve) => redis.once('ready', resolve));
  queue = createIngestQueue({ connection: redis, prefix, attempts: 2, backoffMs: 10 });
  jobs = new Queue(ingestQueueName, { connection: redis, prefix });
  const { app } = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '10kb',
    readiness: [],
    routes(router) {
      router.use((req, _res, next) => {
        req.principal = admin;
        next();
      });
      router.use(collectionRoutes({ pool: db.pool, queue, cache: uncachedRequests }));
    },
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  if (server) await closeServer(server, 1000);
  await jobs?.close();
  await queue?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await db?.drop();
});

async function redisDown(): Promise<void> {
  await redisServer.stop();
}

async function redisBack(): Promise<void> {
  await redisServer.start();
  for (;;) {
    const answered = await redis.ping().then(
      () => true,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const api = (method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('work whose job could not be queued', () => {
  it('lets a collection delete that met a Redis outage be retried, and the name be created again after it', async () => {
    expect((await api('POST', '/v1/collections', { name: 'outage' })).status).toBe(201);
    const collection = (await findCollectionByName(db.pool, 'acme', 'outage'))!;

    await redisDown();
    const failed = await api('DELETE', '/v1/collections/outage');
    expect(failed.status).toBe(503);
    await redisBack();

    const retried = await api('DELETE', '/v1/collections/outage');
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ name: 'outage', status: 'deleting' });
    const job = await jobs.getJob(`delete-collection-${collection.id}`);
    expect(job?.data).toMatchObject({ v: 2, type: 'delete-collection', collectionId: collection.id });
    // Asked once more while the job waits: still one job.
    expect((await api('DELETE', '/v1/collections/outage')).status).toBe(202);
    expect(await jobs.getJobCounts('waiting')).toMatchObject({ waiting: 1 });

    const early = await api('POST', '/v1/collections', { name: 'outage' });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { detail: string }).detail).toMatch(/still being deleted/);
    // The worker finishes the deletion; the name is free again.
    await deleteCollection(db.pool, collection.id);
    await job!.remove();
    expect((await api('POST', '/v1/collections', { name: 'outage' })).status).toBe(201);
  });

  it('queues the jobs of deletions and documents left without one once Redis is back', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'swept'))!;
    const newDocument = async (sourceKey: string | null) => {
      const document = (await insertDocument(db.pool, {
        tenantId: 'acme',
        collectionId: collection.id,
        externalId: null,
        title: null,
        contentHash: `hash-${Math.random()}`,
        metadata: {},
        acl: null,
      }))!;
      if (sourceKey) {
        await db.pool.query('UPDATE documents SET source_key = $2 WHERE id = $1', [document.id, sourceKey]);
      }
      return document;
    };
    const stored = await newDocument('uploads/acme/abc/document.txt');
    const inline = await newDocument(null);
    const deleting = await newDocument(null);
    await db.pool.query("UPDATE documents SET status = 'deleting' WHERE id = $1", [deleting.id]);

    await redisDown();
    await expect(requeueStuckWork({ pool: db.pool, queue, olderThanMs: 0 })).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
    await redisBack();

    const swept = await requeueStuckWork({ pool: db.pool, queue, olderThanMs: 0 });
    expect(swept).toEqual({ collections: 0, deletions: 1, ingests: 1, failed: 1 });
    // The worker reads the stored source from the row.
    expect((await jobs.getJob(`ingest-${stored.id}-v1`))?.data).toMatchObject({
      type: 'ingest-version',
      documentId: stored.id,
      version: 1,
    });
    expect((await jobs.getJob(`delete-${deleting.id}`))?.data).toMatchObject({
      v: 2,
      collection: 'swept',
      documentId: deleting.id,
    });
    expect(await findDocument(db.pool, 'acme', inline.id)).toMatchObject({
      status: 'failed',
      error: lostJobReason,
    });
    // Jobs already waiting are left alone.
    expect(await requeueStuckWork({ pool: db.pool, queue, olderThanMs: 0 })).toEqual({
      collections: 0,
      deletions: 0,
      ingests: 0,
      failed: 0,
    });
    await jobs.obliterate({ force: true });
  });

  it('runs an action asked again after its job failed for good', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'again'))!;
    const job = { v: 1, type: 'delete-collection', tenantId: 'acme', collectionId: collection.id } as const;
    await queue.enqueue(job);
    const workerConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const worker = new Worker(
      ingestQueueName,
      async () => {
        throw new UnrecoverableError('refused for the test');
      },
      { connection: workerConnection, prefix },
    );
    try {
      for (;;) {
        if ((await jobs.getJobState(`delete-collection-${collection.id}`)) === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }
    expect(await queue.isPending(job)).toBe(false);
    await queue.enqueue(job);
    expect(await jobs.getJobState(`delete-collection-${collection.id}`)).toBe('waiting');
    expect(await queue.isPending(job)).toBe(true);
  });
});
