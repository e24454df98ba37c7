import type { Server } from 'node:http';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { type PrivateRedisCluster, startRedisCluster } from '@rag/testing/redis-cluster';
import { uniqueTestPrefix } from '@rag/testing/test-database';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestQueue, type IngestJobInput, type IngestQueue } from './ingest-queue.js';
import { createRateLimits } from './rate-limits.js';

/**
 * The gateway's Redis side against a real Redis Cluster of three masters, connected as the gateway connects
 * with `REDIS_CLUSTER=true` (no offline queue, one retry, a command timeout): the ingest queue's producer
 * under the hash-tagged prefix, and the rate limits, whose counters must live in the cluster (not in the
 * in-process fallback a replica uses while Redis is away).
 */
const keyPrefix = uniqueTestPrefix('gwcluster');
const settings = { cluster: true, keyPrefix };
let cluster: PrivateRedisCluster;
let redis: RedisConnection;
let ingest: IngestQueue;
let server: Server;
let base: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedisConnection(
    { ...settings, url: cluster.url },
    { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 },
  );
  await new Promise((resolve) => redis.once('ready', resolve));
  ingest = createIngestQueue({
    connection: redis,
    prefix: queueKeyPrefix(settings),
    attempts: 3,
    backoffMs: 100,
  });
  const limits = createRateLimits({
    redis,
    keyPrefix,
    perAddressPerMinute: 1000,
    perCredentialPerMinute: 20,
  });
  const { app } = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '1kb',
    readiness: [],
    routes(router) {
      router.get(
        '/v1/ping',
        limits.byAddress,
        (req, _res, next) => {
          req.principal = {
            tenantId: 't',
            role: 'reader',
            collections: null,
            system: false,
            keyId: req.get('x-key') ?? 'none',
            subject: null,
            principals: null,
          };
          next();
        },
        limits.byCredential,
        (_req, res) => {
          res.json({ ok: true });
        },
      );
    },
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  if (server) await closeServer(server, 1000);
  await ingest?.close();
  redis?.disconnect();
  await cluster?.stop();
});

const deleteJob = (documentId: string): IngestJobInput => ({
  v: 1,
  type: 'delete',
  documentId,
  tenantId: 'acme',
  collectionId: '00000000-0000-4000-8000-000000000001',
});

describe('ingest queue producer on a Redis Cluster', () => {
  it('queues a job once, sees it pending, and queues the action again after its job ended', async () => {
    const documentId = '00000000-0000-4000-8000-00000000000a';
    const job = deleteJob(documentId);
    const id = `delete-${documentId}`;
    await ingest.enqueue(job);
    await ingest.enqueue(job);
    expect(await ingest.isPending(job)).toBe(true);

    const prefix = queueKeyPrefix(settings);
    // A worker's connection, as the ingest worker makes it.
    const workerRedis = createRedisConnection(
      { ...settings, url: cluster.url },
      { maxRetriesPerRequest: null },
    );
    const consumer = new Worker(ingestQueueName, async () => 'consumed', { connection: workerRedis, prefix });
    const reader = new Queue(ingestQueueName, { connection: redis, prefix });
    try {
      const deadline = Date.now() + 20_000;
      while ((await reader.getJobState(id)) !== 'completed') {
        if (Date.now() > deadline) throw new Error(`job ${id} did not complete`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await reader.getJobCounts('completed', 'waiting')).toMatchObject({ completed: 1, waiting: 0 });
      expect(await ingest.isPending(job)).toBe(false);
      await consumer.close();
      await ingest.enqueue(job);
      expect(await reader.getJobCounts('completed', 'waiting')).toMatchObject({ completed: 0, waiting: 1 });
      expect(await ingest.isPending(job)).toBe(true);
    } finally {
      await consumer.close();
      await reader.close();
      workerRedis.disconnect();
    }
  });

  it('answers its health check through the cluster', async () => {
    await expect(ingest.checkHealth()).resolves.toBeUndefined();
  });
});

describe('rate limits on a Redis Cluster', () => {
  const ping = (key: string) => fetch(`${base}/v1/ping`, { headers: { 'x-key': key } });

  it('let exactly the limit through under 50 concurrent requests, counted in the cluster', async () => {
    const statuses = (await Promise.all(Array.from({ length: 50 }, () => ping('key-a')))).map(
      (r) => r.status,
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    expect(await redis.get(`${keyPrefix}:ratelimit:credential:key-a`)).toBe('50');
    expect((await ping('key-b')).headers.get('ratelimit-remaining')).toBe('19');
  });
});
