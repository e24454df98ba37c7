import {
  embeddingServiceUrlSetting,
  httpSettings,
  logLevelSetting,
  milvusSettings,
  otherEmbeddingServiceUrlsSetting,
  postgresSettings,
  redisSettings,
  serviceTokenSetting,
} from '@rag/config/base-settings';
import type { Env } from '@rag/config/secret';
import { type ConfigOf, defineConfig, group, plain } from '@rag/config/settings';
import { webhookSettingsFields } from '@rag/ingest-contract/webhook-settings';
import { storageSettings } from '@rag/storage/storage-config';
import { z } from 'zod';

/**
 * Jobs at once per worker process unless WORKER_CONCURRENCY says otherwise (bench:ingest runs with it too). Most
 * documents are a chunk or two: with few jobs, each embedding request and each collection write carries one
 * document, and the worker, Milvus and PostgreSQL spend on that overhead the CPU the model needs. Each job holds
 * its whole document, so this is also what bounds memory (files are parsed by threads shared by all jobs).
 */
export const defaultWorkerConcurrency = 16;

const config = defineConfig({
  http: httpSettings(8083),
  logLevel: logLevelSetting,
  // Indexing and repair write many rows per statement: a longer bound than an API request's.
  postgres: postgresSettings(120_000),
  redis: redisSettings,
  milvus: milvusSettings,
  embeddingServiceUrl: embeddingServiceUrlSetting,
  /** The embedding services of further models, for collections that record them. */
  otherEmbeddingServiceUrls: otherEmbeddingServiceUrlsSetting,
  serviceToken: serviceTokenSetting,
  worker: group({
    /**
     * Jobs at once per process: they extract, chunk and embed in parallel (sharing embedding requests)
     * while writes to a collection go one group at a time. Each job holds at most one document, so this
     * bounds the worker's memory.
     */
    concurrency: plain(
      'WORKER_CONCURRENCY',
      z.coerce.number().int().min(1).max(64).default(defaultWorkerConcurrency),
    ),
    /** Tokens shared by neighbouring chunks; the chunk size itself is the model's input length. */
    chunkOverlapTokens: plain('CHUNK_OVERLAP_TOKENS', z.coerce.number().int().min(0).max(1024).default(32)),
    embedBatchSize: plain('EMBED_BATCH_SIZE', z.coerce.number().int().min(1).max(256).default(32)),
    /** How long an embedding or tokenizer call waits for calls of other jobs to share a request. */
    embedCoalesceMs: plain('EMBED_COALESCE_MS', z.coerce.number().int().min(0).max(1000).default(5)),
    /** Largest file a job may reference; extraction has its own limits (pages, decompressed size, time). */
    maxFileBytes: plain(
      'MAX_FILE_BYTES',
      z.coerce
        .number()
        .int()
        .min(1)
        .default(50 * 1024 * 1024),
    ),
    parseTimeoutMs: plain('PARSE_TIMEOUT_MS', z.coerce.number().int().min(100).default(60_000)),
    maxPages: plain('MAX_PAGES', z.coerce.number().int().min(1).default(2_000)),
    /** A job whose worker died is taken back after about this long (BullMQ lock and stalled check). */
    lockDurationMs: plain('WORKER_LOCK_DURATION_MS', z.coerce.number().int().min(1000).default(30_000)),
    stalledIntervalMs: plain('WORKER_STALLED_INTERVAL_MS', z.coerce.number().int().min(1000).default(30_000)),
    maxStalledCount: plain('WORKER_MAX_STALLED_COUNT', z.coerce.number().int().min(1).default(10)),
    /** A crashed writer's collection lock frees itself after this long. */
    collectionLockTtlMs: plain('COLLECTION_LOCK_TTL_MS', z.coerce.number().int().min(1000).default(30_000)),
  }),
  /**
   * PostgreSQL planner statistics of the tables an ingest changes in bulk (statistics-keeper.ts): checked
   * every interval, analyzed when never analyzed or when changedRows (or changedFraction of the table,
   * whichever is larger) changed, at most once per minInterval per table. An interval of 0 turns it off.
   */
  statistics: group({
    checkIntervalMs: plain('ANALYZE_CHECK_INTERVAL_MS', z.coerce.number().int().min(0).default(60_000)),
    minIntervalMs: plain('ANALYZE_MIN_INTERVAL_MS', z.coerce.number().int().min(0).default(300_000)),
    changedRows: plain('ANALYZE_CHANGED_ROWS', z.coerce.number().int().min(1).default(1_000)),
    changedFraction: plain('ANALYZE_CHANGED_FRACTION', z.coerce.number().min(0).max(1).default(0.1)),
  }),
  /** Delivery, and the same target policy and secret keys as the gateway's (see webhook-settings). */
  webhooks: group({
    ...webhookSettingsFields,
    attempts: plain('WEBHOOK_ATTEMPTS', z.coerce.number().int().min(1).max(50).default(10)),
    backoffMs: plain('WEBHOOK_BACKOFF_MS', z.coerce.number().int().min(10).default(1000)),
    timeoutMs: plain('WEBHOOK_TIMEOUT_MS', z.coerce.number().int().min(100).default(10_000)),
  }),
  storage: storageSettings,
  /** Moving collections to another model (POST /v1/collections/{name}/reindex). */
  reindex: group({
    /** How long the old model's vectors of a collection stay after the switch. */
    keepOldSeconds: plain('REINDEX_KEEP_OLD_SECONDS', z.coerce.number().int().min(0).default(3600)),
    /** Documents embedded per step (progress is recorded after each). */
    batchDocuments: plain('REINDEX_BATCH_DOCUMENTS', z.coerce.number().int().min(1).max(10_000).default(64)),
  }),
});

export type WorkerConfig = ConfigOf<typeof config.settings>;

export function loadConfig(env: Env): WorkerConfig {
  return config.load(env);
}
