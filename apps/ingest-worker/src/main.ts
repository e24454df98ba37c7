import { createEmbeddingClient } from '@rag/contracts/embedding-client';
import { createEmbeddingModels } from '@rag/contracts/embedding-models';
import { migrate } from '@rag/db/migrate';
import { checkPostgres, createPool } from '@rag/db/pool';
import { closeServer } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { listenService } from '@rag/http/service-listeners';
import { failReadiness, onShutdownSignal } from '@rag/http/shutdown';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { createWebhookSecretCipher, webhookSecretKeys } from '@rag/ingest-contract/webhook-secret-cipher';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection } from '@rag/redis/redis-connection';
import { createObjectStorage } from '@rag/storage/storage-config';
import { flushTelemetry } from '@rag/telemetry/flush';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { createModelSpaces } from '@rag/vector-store/model-spaces';
import { Queue } from 'bullmq';
import { createBatchingEmbeddingClient } from './batching-embedding-client.js';
import { createCollectionLock } from './collection-lock.js';
import { createCollectionReindexer } from './collection-reindex.js';
import { createCollectionWriter } from './collection-writer.js';
import { createCompletionEvents, createWebhookDeliveryWorker } from './completion-events.js';
import { loadConfig } from './config.js';
import { createDeadLetterQueue } from './dead-letter-queue.js';
import { createDocumentPipeline } from './document-pipeline.js';
import { createIngestProcessor } from './ingest-processor.js';
import { createIngestWorker } from './ingest-worker.js';
import { createModelKits } from './model-kits.js';
import { createReindexQueue, createReindexWorker, requeueReindexes } from './reindex-worker.js';
import { createStatisticsKeeper } from './statistics-keeper.js';
import { createVectorRecovery } from './vector-recovery.js';
import { createWorkerMetrics } from './worker-metrics.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'ingest-worker', level: config.logLevel });
const metrics = createServiceMetrics('ingest-worker');

const pool = createPool({ ...config.postgres, applicationName: 'ingest-worker' });
await migrate(pool, config.postgres.schema);

// BullMQ workers block on Redis and must retry forever rather than fail a command.
const redis = createRedisConnection(config.redis, { maxRetriesPerRequest: null });
// Queue keys carry a hash tag on a Redis Cluster; the lock's keys keep the plain prefix.
const queuePrefix = queueKeyPrefix(config.redis);
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
const queue = new Queue(ingestQueueName, { connection: redis, prefix: queuePrefix });
const storage = createObjectStorage(config.storage);

const embeddings = createEmbeddingClient({
  baseUrl: config.embeddingServiceUrl,
  serviceToken: config.serviceToken,
});
// Concurrent jobs share embedding and tokenizer requests.
const batchedEmbeddings = createBatchingEmbeddingClient(embeddings, {
  maxTexts: config.worker.embedBatchSize,
  maxWaitMs: config.worker.embedCoalesceMs,
});
// Every served model (one embedding service each): a collection is indexed with the model it records, in that
// model's vector space. The default model's space is also the one readiness and the repair probe.
const models = createEmbeddingModels({
  defaultUrl: config.embeddingServiceUrl,
  otherUrls: config.otherEmbeddingServiceUrls,
  serviceToken: config.serviceToken,
});
const spaces = createModelSpaces(models, (space) => createMilvusStore({ ...config.milvus, space }));
const vectorStore = {
  get: async () => (await spaces.forCollection(undefined)).store,
  close: () => spaces.close(),
};
const pipelineOf = (client: typeof embeddings) =>
  createDocumentPipeline({
    storage,
    embeddings: client,
    limits: {
      maxInputBytes: config.worker.maxFileBytes,
      maxPages: config.worker.maxPages,
      parseTimeoutMs: config.worker.parseTimeoutMs,
    },
    overlapTokens: config.worker.chunkOverlapTokens,
  });
const defaultPipeline = pipelineOf(batchedEmbeddings);
const kits = createModelKits(spaces, (model) => {
  if (model.isDefault) return { embeddings: batchedEmbeddings, pipeline: defaultPipeline };
  const batched = createBatchingEmbeddingClient(model.client, {
    maxTexts: config.worker.embedBatchSize,
    maxWaitMs: config.worker.embedCoalesceMs,
  });
  return { embeddings: batched, pipeline: pipelineOf(batched) };
});
const events = createCompletionEvents({
  connection: redis,
  prefix: queuePrefix,
  pool,
  webhookAttempts: config.webhooks.attempts,
  webhookBackoffMs: config.webhooks.backoffMs,
});
const deadLetters = createDeadLetterQueue({ connection: redis, prefix: queuePrefix });

const collectionLock = createCollectionLock({
  redis,
  prefix: config.redis.keyPrefix,
  ttlMs: config.worker.collectionLockTtlMs,
});
const { jobsTotal, jobDuration, vectorsRepairedTotal } = createWorkerMetrics(metrics, queue);
const worker = createIngestWorker({
  connection: redis,
  prefix: queuePrefix,
  concurrency: config.worker.concurrency,
  lockDurationMs: config.worker.lockDurationMs,
  stalledIntervalMs: config.worker.stalledIntervalMs,
  maxStalledCount: config.worker.maxStalledCount,
  logger,
  jobsTotal,
  jobDuration,
  deadLetters,
  processor: createIngestProcessor({
    pool,
    embeddings: batchedEmbeddings,
    vectorStore: vectorStore.get,
    storage,
    pipeline: defaultPipeline,
    kits,
    collectionLock,
    collectionWriter: createCollectionWriter({ lock: collectionLock }),
    events,
    logger,
    embedBatchSize: config.worker.embedBatchSize,
  }),
});
worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
const webhookWorker = createWebhookDeliveryWorker({
  connection: redis,
  prefix: queuePrefix,
  pool,
  logger,
  timeoutMs: config.webhooks.timeoutMs,
  targets: { allowedHosts: config.webhooks.allowedHosts, allowPrivate: config.webhooks.allowPrivate },
  cipher: createWebhookSecretCipher(webhookSecretKeys(config.webhooks.secretKeys, config.serviceToken)),
});
webhookWorker.on('error', (error) => logger.error({ err: error }, 'webhook worker error'));
const reindexQueue = createReindexQueue({ connection: redis, prefix: queuePrefix });
const reindexWorker = createReindexWorker({
  connection: redis,
  prefix: queuePrefix,
  pool,
  logger,
  lockDurationMs: config.worker.lockDurationMs,
  stalledIntervalMs: config.worker.stalledIntervalMs,
  reindexer: createCollectionReindexer({
    pool,
    kits,
    lock: collectionLock,
    logger,
    embedBatchSize: config.worker.embedBatchSize,
    batchDocuments: config.reindex.batchDocuments,
    keepOldSeconds: config.reindex.keepOldSeconds,
    scheduleCleanup: (reindexId, delayMs) => reindexQueue.add({ type: 'cleanup', reindexId }, delayMs),
  }),
});
reindexWorker.on('error', (error) => logger.error({ err: error }, 'reindex worker error'));

const { app, management, lifecycle } = createServiceApp({
  logger,
  metrics,
  bodyLimit: '100kb',
  readiness: [
    { name: 'postgres', check: () => checkPostgres(pool) },
    { name: 'redis', check: async () => void (await redis.ping()) },
    { name: 'milvus', check: async () => (await vectorStore.get()).checkHealth() },
    { name: 'storage', check: () => storage.checkHealth() },
    // Not ready while vectors lost by a restarted Milvus are still being rebuilt (see vector-recovery.ts).
    { name: 'vectors', check: async () => vectorRecovery.assertRepaired() },
  ],
  routes: () => {},
});
// A Milvus that was killed may come back without vectors it had acknowledged: they are rebuilt from
// PostgreSQL at start and whenever Milvus answers again after a failed probe.
const vectorRecovery = createVectorRecovery({
  pool,
  store: vectorStore.get,
  embeddings: batchedEmbeddings,
  kitFor: (collection) => kits.forCollection(collection),
  lock: collectionLock,
  embedBatchSize: config.worker.embedBatchSize,
  logger,
  repairedTotal: vectorsRepairedTotal,
  intervalMs: 5_000,
  probeTimeoutMs: 3_000,
});
vectorRecovery.start();
// Planner statistics of the tables ingests change in bulk, so search queries keep their plans as collections grow.
const statisticsKeeper = createStatisticsKeeper({ pool, logger, settings: config.statistics });
statisticsKeeper.start();
const listeners = await listenService({ app, management }, config.http);
void worker.run();
void webhookWorker.run();
void reindexWorker.run();
// Reindexes PostgreSQL says are under way, in case Redis lost their jobs.
requeueReindexes(pool, reindexQueue).catch((error: unknown) =>
  logger.warn({ err: error }, 'could not queue the reindexes under way again'),
);
logger.info(
  { port: listeners.port, management_port: listeners.managementPort, concurrency: config.worker.concurrency },
  'ingest worker running',
);

onShutdownSignal(logger, [
  failReadiness(lifecycle, config.http.shutdownDelayMs),
  // close() waits for the active jobs to finish; unfinished ones would be retried by another worker.
  { name: 'drain jobs', run: () => worker.close() },
  // A reindex is not waited for: its job is taken back after its lock expires and carries on from PostgreSQL.
  { name: 'stop reindexing', run: () => reindexWorker.close(true) },
  { name: 'stop vector recovery', run: () => vectorRecovery.stop() },
  { name: 'stop statistics keeper', run: () => statisticsKeeper.stop() },
  { name: 'drain webhooks', run: () => webhookWorker.close() },
  { name: 'close http', run: () => closeServer(listeners.server, config.http.shutdownGraceMs) },
  {
    name: 'close queues',
    run: async () =>
      void (await Promise.all([queue.close(), events.close(), deadLetters.close(), reindexQueue.close()])),
  },
  { name: 'close redis', run: async () => void redis.disconnect() },
  { name: 'close milvus', run: () => vectorStore.close() },
  { name: 'close storage', run: () => storage.close() },
  { name: 'close postgres', run: () => pool.end() },
  // Last, so that readiness answers 503 (not a refused connection) for as long as the process runs.
  { name: 'close management', run: () => closeServer(listeners.management, 1000) },
  { name: 'flush telemetry', run: flushTelemetry },
]);
