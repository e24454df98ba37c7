import { checkPostgres, type Pool } from '@rag/db/pool';
import { createServiceApp } from '@rag/http/service-app';
import type { ShutdownStep } from '@rag/http/shutdown';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import type { WebhookSecretCipher } from '@rag/ingest-contract/webhook-secret-cipher';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ObjectStorage } from '@rag/storage/object-storage';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { Queue } from 'bullmq';
import { createCollectionLock } from './collection-lock.js';
import { createCollectionReindexer } from './collection-reindex.js';
import { createCollectionWriter } from './collection-writer.js';
import { createCompletionEvents, createWebhookDeliveryWorker } from './completion-events.js';
import { createDeadLetterQueue } from './dead-letter-queue.js';
import type { DocumentPipeline } from './document-pipeline.js';
import { createIngestProcessor } from './ingest-processor.js';
import { createIngestWorker } from './ingest-worker.js';
import type { ModelKits } from './model-kits.js';
import { createReindexQueue, createReindexWorker, requeueReindexes } from './reindex-worker.js';
import { createStatisticsKeeper, type StatisticsKeeperSettings } from './statistics-keeper.js';
import { createVectorRecovery } from './vector-recovery.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface WorkerSettings {
  /** Ingest jobs at once per process. */
  concurrency: number;
  embedBatchSize: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  collectionLockTtlMs?: number;
  webhooks: {
    attempts: number;
    backoffMs: number;
    timeoutMs: number;
    allowedHosts: string[];
    allowPrivate: boolean;
  };
  statistics: StatisticsKeeperSettings;
  reindex: { batchDocuments: number; keepOldSeconds: number };
  /** How often the vector store is probed for a restart that lost vectors, and how long a probe may take. */
  repair: { intervalMs: number; probeTimeoutMs: number };
}

/** The real dependencies main.ts builds from the configuration; tests build them with test settings. */
export interface WorkerDeps {
  pool: Pool;
  /** A connection made with maxRetriesPerRequest: null, to a server or a cluster. */
  redis: RedisConnection;
  /** The queues' prefix (queueKeyPrefix: hash-tagged on a Redis Cluster). */
  queuePrefix: string;
  /** The prefix of the collection writer lock's keys (the plain one). */
  lockPrefix: string;
  storage: ObjectStorage;
  /** The default model's client, chunker and vector store. */
  embeddings: EmbeddingClient;
  pipeline: DocumentPipeline;
  vectorStore: () => Promise<ChunkVectorStore>;
  /** Every served model; without it every collection is on the default model and none can be reindexed. */
  kits?: ModelKits;
  webhookCipher: WebhookSecretCipher;
  logger: Logger;
  metrics: ServiceMetrics;
  settings: WorkerSettings;
}

/**
 * The ingest worker as a function of its dependencies: the ingest queue's consumer and its processor, the
 * webhook delivery, the reindex consumer, the vector repair, the statistics upkeep and the management app
 * (readiness, metrics). Nothing runs until `start()`; the shutdown steps stop and close what this made.
 */
export function createWorker(deps: WorkerDeps) {
  const { pool, redis, queuePrefix: prefix, logger, settings } = deps;
  const queue = new Queue(ingestQueueName, { connection: redis, prefix });
  const events = createCompletionEvents({
    connection: redis,
    prefix,
    pool,
    webhookAttempts: settings.webhooks.attempts,
    webhookBackoffMs: settings.webhooks.backoffMs,
  });
  const deadLetters = createDeadLetterQueue({ connection: redis, prefix });
  const collectionLock = createCollectionLock({
    redis,
    prefix: deps.lockPrefix,
    ...(settings.collectionLockTtlMs ? { ttlMs: settings.collectionLockTtlMs } : {}),
  });
  // A job's lock and the stalled check (BullMQ's defaults where not set).
  const timing = {
    ...(settings.lockDurationMs ? { lockDurationMs: settings.lockDurationMs } : {}),
    ...(settings.stalledIntervalMs ? { stalledIntervalMs: settings.stalledIntervalMs } : {}),
  };
  const { jobsTotal, jobDuration, vectorsRepairedTotal } = createWorkerMetrics(deps.metrics, queue);
  const ingestWorker = createIngestWorker({
    connection: redis,
    prefix,
    concurrency: settings.concurrency,
    ...timing,
    ...(settings.maxStalledCount ? { maxStalledCount: settings.maxStalledCount } : {}),
    logger,
    jobsTotal,
    jobDuration,
    deadLetters,
    processor: createIngestProcessor({
      pool,
      embeddings: deps.embeddings,
      vectorStore: deps.vectorStore,
      storage: deps.storage,
      pipeline: deps.pipeline,
      ...(deps.kits ? { kits: deps.kits } : {}),
      collectionLock,
      collectionWriter: createCollectionWriter({ lock: collectionLock }),
      events,
      logger,
      embedBatchSize: settings.embedBatchSize,
    }),
  });
  ingestWorker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  const webhookWorker = createWebhookDeliveryWorker({
    connection: redis,
    prefix,
    pool,
    logger,
    timeoutMs: settings.webhooks.timeoutMs,
    targets: { allowedHosts: settings.webhooks.allowedHosts, allowPrivate: settings.webhooks.allowPrivate },
    cipher: deps.webhookCipher,
  });
  webhookWorker.on('error', (error) => logger.error({ err: error }, 'webhook worker error'));
  const reindexQueue = createReindexQueue({ connection: redis, prefix });
  const kits = deps.kits;
  const reindexWorker =
    kits &&
    createReindexWorker({
      connection: redis,
      prefix,
      pool,
      logger,
      ...timing,
      reindexer: createCollectionReindexer({
        pool,
        kits,
        lock: collectionLock,
        logger,
        embedBatchSize: settings.embedBatchSize,
        batchDocuments: settings.reindex.batchDocuments,
        keepOldSeconds: settings.reindex.keepOldSeconds,
        scheduleCleanup: (reindexId, delayMs) => reindexQueue.add({ type: 'cleanup', reindexId }, delayMs),
      }),
    });
  reindexWorker?.on('error', (error) => logger.error({ err: error }, 'reindex worker error'));

  // A Milvus that was killed may come back without vectors it had acknowledged: they are rebuilt from
  // PostgreSQL at start and whenever Milvus answers again after a failed probe.
  const vectorRecovery = createVectorRecovery({
    pool,
    store: deps.vectorStore,
    embeddings: deps.embeddings,
    ...(kits ? { kitFor: (collection) => kits.forCollection(collection) } : {}),
    lock: collectionLock,
    embedBatchSize: settings.embedBatchSize,
    logger,
    repairedTotal: vectorsRepairedTotal,
    intervalMs: settings.repair.intervalMs,
    probeTimeoutMs: settings.repair.probeTimeoutMs,
  });
  // Planner statistics of the tables ingests change in bulk, so search queries keep their plans as collections grow.
  const statisticsKeeper = createStatisticsKeeper({ pool, logger, settings: settings.statistics });

  const { app, management, lifecycle } = createServiceApp({
    logger,
    metrics: deps.metrics,
    bodyLimit: '100kb',
    readiness: [
      { name: 'postgres', check: () => checkPostgres(pool) },
      { name: 'redis', check: async () => void (await redis.ping()) },
      { name: 'milvus', check: async () => (await deps.vectorStore()).checkHealth() },
      { name: 'storage', check: () => deps.storage.checkHealth() },
      // Not ready while vectors lost by a restarted Milvus are still being rebuilt (see vector-recovery.ts).
      { name: 'vectors', check: async () => vectorRecovery.assertRepaired() },
    ],
    routes: () => {},
  });

  return {
    app,
    management,
    lifecycle,
    /** The ingest queue's consumer (BullMQ); the queue, for adding jobs and reading its counts. */
    ingestWorker,
    queue,
    /** Starts the vector repair, the statistics upkeep and the consumers. */
    start(): void {
      vectorRecovery.start();
      statisticsKeeper.start();
      void ingestWorker.run();
      void webhookWorker.run();
      void reindexWorker?.run();
      // Reindexes PostgreSQL says are under way, in case Redis lost their jobs.
      if (kits) {
        requeueReindexes(pool, reindexQueue).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not queue the reindexes under way again'),
        );
      }
    },
    /** Stops taking jobs, in order: active ingest jobs and webhook deliveries finish first. */
    stopSteps: [
      // close() waits for the active jobs to finish; unfinished ones would be retried by another worker.
      { name: 'drain jobs', run: () => ingestWorker.close() },
      // A reindex is not waited for: its job is taken back after its lock expires and carries on from PostgreSQL.
      {
        name: 'stop reindexing',
        run: async () => {
          await reindexWorker?.close(true);
        },
      },
      { name: 'stop vector recovery', run: () => vectorRecovery.stop() },
      { name: 'stop statistics keeper', run: () => statisticsKeeper.stop() },
      { name: 'drain webhooks', run: () => webhookWorker.close() },
    ] satisfies ShutdownStep[],
    /** Closes the queues this made (after the consumers stopped). */
    async closeQueues(): Promise<void> {
      await Promise.all([queue.close(), events.close(), deadLetters.close(), reindexQueue.close()]);
    },
  };
}
