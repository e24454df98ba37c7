import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { redisTopologies, startTestRedis, type TestRedis } from '@rag/testing/test-redis';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestQueue, type IngestJobInput, type IngestQueue } from './ingest-queue.js';

/**
 * The ingest queue's producer against a real Redis, connected as the gateway connects (no offline queue, one
 * retry, a command timeout): the shared server, and a Redis Cluster of three masters (`REDIS_CLUSTER=true`),
 * where the queue lives under the hash-tagged prefix.
 */
const deleteJob = (documentId: string): IngestJobInput => ({
  v: 1,
  type: 'delete',
  documentId,
  tenantId: 'acme',
  collectionId: '00000000-0000-4000-8000-000000000001',
});

describe.each(redisTopologies)('ingest queue producer on a Redis %s', (topology) => {
  let target: TestRedis;
  let redis: RedisConnection;
  let ingest: IngestQueue;

  beforeAll(async () => {
    target = await startTestRedis(topology, 'ingestqueue');
    redis = createRedisConnection(target.settings, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
    });
    await new Promise((resolve) => redis.once('ready', resolve));
    ingest = createIngestQueue({
      connection: redis,
      prefix: queueKeyPrefix(target.settings),
      attempts: 3,
      backoffMs: 100,
    });
  });

  afterAll(async () => {
    await ingest?.close();
    redis?.disconnect();
    await target?.stop();
  });

  it('queues a job once, sees it pending, and queues the action again after its job ended', async () => {
    const documentId = '00000000-0000-4000-8000-00000000000a';
    const job = deleteJob(documentId);
    const id = `delete-${documentId}`;
    await ingest.enqueue(job);
    await ingest.enqueue(job);
    expect(await ingest.isPending(job)).toBe(true);

    const prefix = queueKeyPrefix(target.settings);
    // A worker's connection, as the ingest worker makes it.
    const workerRedis = createRedisConnection(target.settings, { maxRetriesPerRequest: null });
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

  it('answers its health check through Redis', async () => {
    await expect(ingest.checkHealth()).resolves.toBeUndefined();
  });
});
