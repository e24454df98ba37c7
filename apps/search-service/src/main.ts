import { migrate } from '@rag/db/migrate';
import { createPool } from '@rag/db/pool';
import { closeServer } from '@rag/http/http-server';
import { listenService } from '@rag/http/service-listeners';
import { failReadiness, onShutdownSignal } from '@rag/http/shutdown';
import { createRedisConnection } from '@rag/redis/redis-connection';
import { createEmbeddingModels } from '@rag/service-clients/embedding-models';
import { flushTelemetry } from '@rag/telemetry/flush';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { createModelSpaces } from '@rag/vector-store/model-spaces';
import { Histogram } from 'prom-client';
import { createSearchApp } from './app.js';
import { loadConfig } from './config.js';
import { createDependencyWatch, reportingAnswers } from './dependency-watch.js';
import { createSearchCache } from './search-cache.js';
import { createSearchEngine, postgresSearchCatalog } from './search-engine.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'search-service', level: config.logLevel });
const metrics = createServiceMetrics('search-service');
const searchDuration = new Histogram({
  name: 'search_duration_seconds',
  help: 'Search request duration in seconds, by mode and outcome.',
  labelNames: ['mode', 'outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metrics.registry],
});
const stageDuration = new Histogram({
  name: 'search_stage_duration_seconds',
  help: 'Time spent in each stage of a search (index_version, embed, vector_search, rerank, join).',
  labelNames: ['stage'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  registers: [metrics.registry],
});

const pool = createPool({ ...config.postgres, applicationName: 'search-service' });
await migrate(pool, config.postgres.schema);
const redis = createRedisConnection(config.redis, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: config.redis.commandTimeoutMs,
});
redis.on('error', (error) => logger.warn({ err: error }, 'redis error; searching without the cache'));
const cache = createSearchCache(redis, {
  keyPrefix: config.redis.keyPrefix,
  ...config.cache,
  onError: (error) => logger.debug({ err: error }, 'search cache unavailable'),
});
// A hung Milvus answers nothing: searches fail fast (503) once a probe has gone unanswered while no search was
// answered either, or, with searches in flight, nothing was answered for five probe timeouts (a busy Milvus Lite
// queues the probe behind the searches and may share its CPUs among them for seconds).
const milvusWatch = createDependencyWatch({
  name: 'Milvus',
  check: async () => (await defaultStore()).checkHealth(),
  intervalMs: 2_000,
  timeoutMs: 2_000,
});

// Every served model's space: a collection is searched with the model it records. The default model's space is
// the one the health checks probe (and so is ready before the first search).
const models = createEmbeddingModels({
  defaultUrl: config.embeddingServiceUrl,
  otherUrls: config.otherEmbeddingServiceUrls,
  serviceToken: config.serviceToken,
  timeoutMs: 10_000,
});
const spaces = createModelSpaces(models, (space) =>
  reportingAnswers(createMilvusStore({ ...config.milvus, space }), milvusWatch),
);
const defaultStore = async () => (await spaces.forCollection(undefined)).store;

const { app, management, lifecycle } = createSearchApp({
  logger,
  metrics,
  pool,
  searchDuration,
  search: createSearchEngine({
    catalog: postgresSearchCatalog(pool),
    spaces,
    stageDuration,
    cache,
    // A dense 384-dimension query embedding is about 3 KB.
    embeddingMemory: { entries: 1_000, ttlMs: config.cache.embeddingTtlSeconds * 1000 },
  }),
  checkVectorStore: async () => (await defaultStore()).checkHealth(),
  watched: [milvusWatch],
  checkEmbeddings: () => models.check(),
  serviceToken: config.serviceToken,
});
const listeners = await listenService({ app, management }, config.http);
logger.info({ port: listeners.port, management_port: listeners.managementPort }, 'search service listening');

onShutdownSignal(logger, [
  failReadiness(lifecycle, config.http.shutdownDelayMs),
  { name: 'drain http', run: () => closeServer(listeners.server, config.http.shutdownGraceMs) },
  { name: 'stop milvus watch', run: async () => milvusWatch.stop() },
  { name: 'close milvus', run: () => spaces.close() },
  { name: 'close postgres', run: () => pool.end() },
  { name: 'close redis', run: async () => void (await redis.quit()) },
  // Last, so that readiness answers 503 (not a refused connection) for as long as the process runs.
  { name: 'close management', run: () => closeServer(listeners.management, 1000) },
  { name: 'flush telemetry', run: flushTelemetry },
]);
