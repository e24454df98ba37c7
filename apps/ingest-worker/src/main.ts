import { availableParallelism } from 'node:os';
import { migrate } from '@rag/db/migrate';
import { createPool } from '@rag/db/pool';
import { createDocumentExtractor } from '@rag/documents/document-extractor';
import { closeServer } from '@rag/http/http-server';
import { listenService } from '@rag/http/service-listeners';
import { failReadiness, onShutdownSignal } from '@rag/http/shutdown';
import { createWebhookSecretCipher, webhookSecretKeys } from '@rag/ingest-contract/webhook-secret-cipher';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection } from '@rag/redis/redis-connection';
import { createEmbeddingModels } from '@rag/service-clients/embedding-models';
import { createObjectStorage } from '@rag/storage/storage-config';
import { flushTelemetry } from '@rag/telemetry/flush';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { createModelSpaces } from '@rag/vector-store/model-spaces';
import { createWorker } from './app.js';
import { createBatchingEmbeddingClient } from './batching-embedding-client.js';
import { loadConfig } from './config.js';
import { createDocumentPipeline } from './document-pipeline.js';
import { createModelKits } from './model-kits.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'ingest-worker', level: config.logLevel });
const metrics = createServiceMetrics('ingest-worker');

const pool = createPool({ ...config.postgres, applicationName: 'ingest-worker' });
await migrate(pool, config.postgres.schema);

// BullMQ workers block on Redis and must retry forever rather than fail a command.
const redis = createRedisConnection(config.redis, { maxRetriesPerRequest: null });
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
const storage = createObjectStorage(config.storage);

// Every served model (one embedding service each): a collection is indexed with the model it records, in that
// model's vector space. The default model's space is also the one readiness and the repair probe. Model info
// comes from this table alone, as in the search service.
const models = createEmbeddingModels({
  defaultUrl: config.embeddingServiceUrl,
  otherUrls: config.otherEmbeddingServiceUrls,
  serviceToken: config.serviceToken,
});
const embeddings = models.defaultClient;
// Concurrent jobs share embedding and tokenizer requests.
const batchedEmbeddings = createBatchingEmbeddingClient(embeddings, {
  maxTexts: config.worker.embedBatchSize,
  maxWaitMs: config.worker.embedCoalesceMs,
});
const spaces = createModelSpaces(models, (space) => createMilvusStore({ ...config.milvus, space }));
const vectorStore = {
  get: async () => (await spaces.forCollection(undefined)).store,
  close: () => spaces.close(),
};
// Parsing is CPU-bound and a parser thread holds tens of MB: one thread per core at most, whatever the number of jobs.
const extractor = createDocumentExtractor({
  threads: Math.min(availableParallelism(), config.worker.concurrency),
  limits: { maxPages: config.worker.maxPages, parseTimeoutMs: config.worker.parseTimeoutMs },
});
const pipelineOf = (client: typeof embeddings) =>
  createDocumentPipeline({
    storage,
    embeddings: client,
    extractor,
    maxInputBytes: config.worker.maxFileBytes,
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

const worker = createWorker({
  pool,
  redis,
  // Queue keys carry a hash tag on a Redis Cluster; the lock's keys keep the plain prefix.
  queuePrefix: queueKeyPrefix(config.redis),
  lockPrefix: config.redis.keyPrefix,
  storage,
  embeddings: batchedEmbeddings,
  pipeline: defaultPipeline,
  vectorStore: vectorStore.get,
  kits,
  webhookCipher: createWebhookSecretCipher(
    webhookSecretKeys(config.webhooks.secretKeys, config.serviceToken),
  ),
  logger,
  metrics,
  settings: {
    ...config.worker,
    webhooks: config.webhooks,
    statistics: config.statistics,
    reindex: config.reindex,
    repair: { intervalMs: 5_000, probeTimeoutMs: 3_000 },
  },
});
const listeners = await listenService({ app: worker.app, management: worker.management }, config.http);
worker.start();
logger.info(
  { port: listeners.port, management_port: listeners.managementPort, concurrency: config.worker.concurrency },
  'ingest worker running',
);

onShutdownSignal(logger, [
  failReadiness(worker.lifecycle, config.http.shutdownDelayMs),
  ...worker.stopSteps,
  { name: 'close http', run: () => closeServer(listeners.server, config.http.shutdownGraceMs) },
  { name: 'close queues', run: () => worker.closeQueues() },
  { name: 'close parser threads', run: () => extractor.close() },
  { name: 'close redis', run: async () => void redis.disconnect() },
  { name: 'close milvus', run: () => vectorStore.close() },
  { name: 'close storage', run: () => storage.close() },
  { name: 'close postgres', run: () => pool.end() },
  // Last, so that readiness answers 503 (not a refused connection) for as long as the process runs.
  { name: 'close management', run: () => closeServer(listeners.management, 1000) },
  { name: 'flush telemetry', run: flushTelemetry },
]);
