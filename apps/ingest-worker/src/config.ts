import {
  defined,
  httpServerSchema,
  logLevelSchema,
  milvusSchema,
  postgresSchema,
  redisSchema,
  serviceTokenSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import { embeddingServicesSchema } from '@rag/config/embedding-services';
import {
  httpFromEnv,
  milvusFromEnv,
  postgresFromEnv,
  redisFromEnv,
  sharedEnvNames,
} from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { webhookSettingsEnvNames, webhookSettingsSchema } from '@rag/ingest-contract/webhook-settings';
import { storageEnvNames, storageFromEnv, storageSchema } from '@rag/storage/storage-config';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8083) }),
  logLevel: logLevelSchema.default('info'),
  // Indexing and repair write many rows per statement: a longer bound than an API request's.
  postgres: postgresSchema.extend({
    queryTimeoutMs: postgresSchema.shape.queryTimeoutMs.unwrap().default(120_000),
  }),
  redis: redisSchema,
  milvus: milvusSchema,
  embeddingServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
  /** The embedding services of further models (EMBEDDING_SERVICE_URLS), for collections that record them. */
  otherEmbeddingServiceUrls: embeddingServicesSchema.shape.otherUrls,
  serviceToken: serviceTokenSchema,
  worker: z.object({
    /**
     * Jobs at once per process: they extract, chunk and embed in parallel (sharing embedding requests)
     * while writes to a collection go one group at a time. Each job holds at most one document, so this
     * bounds the worker's memory.
     */
    concurrency: z.coerce.number().int().min(1).max(64).default(4),
    /** Tokens shared by neighbouring chunks; the chunk size itself is the model's input length. */
    chunkOverlapTokens: z.coerce.number().int().min(0).max(1024).default(32),
    embedBatchSize: z.coerce.number().int().min(1).max(256).default(32),
    /** How long an embedding or tokenizer call waits for calls of other jobs to share a request. */
    embedCoalesceMs: z.coerce.number().int().min(0).max(1000).default(5),
    /** Largest file a job may reference; extraction has its own limits (pages, decompressed size, time). */
    maxFileBytes: z.coerce
      .number()
      .int()
      .min(1)
      .default(50 * 1024 * 1024),
    parseTimeoutMs: z.coerce.number().int().min(100).default(60_000),
    maxPages: z.coerce.number().int().min(1).default(2_000),
    /** A job whose worker died is taken back after about this long (BullMQ lock and stalled check). */
    lockDurationMs: z.coerce.number().int().min(1000).default(30_000),
    stalledIntervalMs: z.coerce.number().int().min(1000).default(30_000),
    maxStalledCount: z.coerce.number().int().min(1).default(10),
    /** A crashed writer's collection lock frees itself after this long. */
    collectionLockTtlMs: z.coerce.number().int().min(1000).default(30_000),
  }),
  /**
   * PostgreSQL planner statistics of the tables an ingest changes in bulk (statistics-keeper.ts): checked
   * every interval, analyzed when never analyzed or when changedRows (or changedFraction of the table,
   * whichever is larger) changed, at most once per minInterval per table. An interval of 0 turns it off.
   */
  statistics: z.object({
    checkIntervalMs: z.coerce.number().int().min(0).default(60_000),
    minIntervalMs: z.coerce.number().int().min(0).default(300_000),
    changedRows: z.coerce.number().int().min(1).default(1_000),
    changedFraction: z.coerce.number().min(0).max(1).default(0.1),
  }),
  /** Delivery, and the same target policy and secret keys as the gateway's (see webhook-settings). */
  webhooks: webhookSettingsSchema.extend({
    attempts: z.coerce.number().int().min(1).max(50).default(10),
    backoffMs: z.coerce.number().int().min(10).default(1000),
    timeoutMs: z.coerce.number().int().min(100).default(10_000),
  }),
  storage: storageSchema,
  /** Moving collections to another model (POST /v1/collections/{name}/reindex). */
  reindex: z.object({
    /** How long the old model's vectors of a collection stay after the switch. */
    keepOldSeconds: z.coerce.number().int().min(0).default(3600),
    /** Documents embedded per step (progress is recorded after each). */
    batchDocuments: z.coerce.number().int().min(1).max(10_000).default(64),
  }),
});

export type WorkerConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): WorkerConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      postgres: postgresFromEnv(env),
      redis: redisFromEnv(env),
      milvus: milvusFromEnv(env),
      embeddingServiceUrl: env.EMBEDDING_SERVICE_URL,
      otherEmbeddingServiceUrls: env.EMBEDDING_SERVICE_URLS,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
      worker: defined({
        concurrency: env.WORKER_CONCURRENCY,
        chunkOverlapTokens: env.CHUNK_OVERLAP_TOKENS,
        embedBatchSize: env.EMBED_BATCH_SIZE,
        embedCoalesceMs: env.EMBED_COALESCE_MS,
        maxFileBytes: env.MAX_FILE_BYTES,
        parseTimeoutMs: env.PARSE_TIMEOUT_MS,
        maxPages: env.MAX_PAGES,
        lockDurationMs: env.WORKER_LOCK_DURATION_MS,
        stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: env.WORKER_MAX_STALLED_COUNT,
        collectionLockTtlMs: env.COLLECTION_LOCK_TTL_MS,
      }),
      statistics: defined({
        checkIntervalMs: env.ANALYZE_CHECK_INTERVAL_MS,
        minIntervalMs: env.ANALYZE_MIN_INTERVAL_MS,
        changedRows: env.ANALYZE_CHANGED_ROWS,
        changedFraction: env.ANALYZE_CHANGED_FRACTION,
      }),
      webhooks: defined({
        attempts: env.WEBHOOK_ATTEMPTS,
        backoffMs: env.WEBHOOK_BACKOFF_MS,
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        allowedHosts: env.WEBHOOK_ALLOWED_HOSTS,
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
        secretKeys: readSecret(env, 'WEBHOOK_SECRET_KEY'),
      }),
      storage: storageFromEnv(env),
      reindex: defined({
        keepOldSeconds: env.REINDEX_KEEP_OLD_SECONDS,
        batchDocuments: env.REINDEX_BATCH_DOCUMENTS,
      }),
    },
    {
      ...sharedEnvNames,
      ...storageEnvNames,
      ...webhookSettingsEnvNames,
      'worker.concurrency': 'WORKER_CONCURRENCY',
      'worker.chunkOverlapTokens': 'CHUNK_OVERLAP_TOKENS',
      'worker.embedBatchSize': 'EMBED_BATCH_SIZE',
      'worker.embedCoalesceMs': 'EMBED_COALESCE_MS',
      'worker.maxFileBytes': 'MAX_FILE_BYTES',
      'worker.parseTimeoutMs': 'PARSE_TIMEOUT_MS',
      'worker.maxPages': 'MAX_PAGES',
      'worker.lockDurationMs': 'WORKER_LOCK_DURATION_MS',
      'worker.stalledIntervalMs': 'WORKER_STALLED_INTERVAL_MS',
      'worker.maxStalledCount': 'WORKER_MAX_STALLED_COUNT',
      'worker.collectionLockTtlMs': 'COLLECTION_LOCK_TTL_MS',
      'statistics.checkIntervalMs': 'ANALYZE_CHECK_INTERVAL_MS',
      'statistics.minIntervalMs': 'ANALYZE_MIN_INTERVAL_MS',
      'statistics.changedRows': 'ANALYZE_CHANGED_ROWS',
      'statistics.changedFraction': 'ANALYZE_CHANGED_FRACTION',
      'webhooks.attempts': 'WEBHOOK_ATTEMPTS',
      'webhooks.backoffMs': 'WEBHOOK_BACKOFF_MS',
      'webhooks.timeoutMs': 'WEBHOOK_TIMEOUT_MS',
      otherEmbeddingServiceUrls: 'EMBEDDING_SERVICE_URLS',
      'reindex.keepOldSeconds': 'REINDEX_KEEP_OLD_SECONDS',
      'reindex.batchDocuments': 'REINDEX_BATCH_DOCUMENTS',
    },
  );
}
