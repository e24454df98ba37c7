import { z } from 'zod';
import { parseClusterSeeds } from './redis-cluster-seeds.js';
import { group, plain, secret } from './settings.js';

/**
 * The settings every service shares, each with its environment variable (settings.ts): HTTP server, log
 * level, PostgreSQL, Redis, Milvus, the service token and the embedding services. An app's config.ts
 * composes the ones it needs next to its own.
 */

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export const serviceUrlSchema = z.string().url();
/** The shared secret that internal calls carry, so a leaked internal port does not bypass the gateway. */
export const serviceTokenSchema = z.string().min(32, 'must be at least 32 characters');

const portSchema = z.coerce.number().int().min(0).max(65535);

/** A comma-separated list: entries trimmed, empty ones dropped; unset is the empty list. */
export const commaListSchema = z
  .string()
  .default('')
  .transform((list) =>
    list
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  );

/** The HTTP server; `defaultPort` is the service's own port when PORT is unset. */
export function httpSettings(defaultPort?: number) {
  return group({
    host: plain('HOST', z.string().min(1).default('127.0.0.1')),
    port: plain('PORT', defaultPort === undefined ? portSchema : portSchema.default(defaultPort)),
    /** Readiness and metrics listen here, off the public port; unset means PORT + 1000 (@rag/http). */
    managementPort: plain('MANAGEMENT_PORT', portSchema.optional()),
    /** How long shutdown waits for in-flight requests before closing connections. */
    shutdownGraceMs: plain('SHUTDOWN_GRACE_MS', z.coerce.number().int().positive().default(10_000)),
    /**
     * How long to keep serving after SIGTERM with readiness already failing, so that load balancers stop
     * routing here before the listener closes (Kubernetes removes endpoints asynchronously; 5 s is typical).
     */
    shutdownDelayMs: plain('SHUTDOWN_DELAY_MS', z.coerce.number().int().min(0).max(60_000).default(0)),
  });
}

export const logLevelSetting = plain('LOG_LEVEL', logLevelSchema.default('info'));

/** PostgreSQL; `queryTimeoutMs` is the longest query of an API request unless the service says otherwise. */
export function postgresSettings(queryTimeoutMs = 5_000) {
  return group({
    url: secret('DATABASE_URL', z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres')),
    /** Schema the service works in; tests give each worker its own. */
    schema: plain(
      'DATABASE_SCHEMA',
      z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier')
        .default('public'),
    ),
    poolSize: plain('DATABASE_POOL_SIZE', z.coerce.number().int().positive().default(10)),
    /** Wait for a connection before answering 503: a PostgreSQL that is down or hung fails fast. */
    connectTimeoutMs: plain('DATABASE_CONNECT_TIMEOUT_MS', z.coerce.number().int().min(100).default(3_000)),
    queryTimeoutMs: plain(
      'DATABASE_QUERY_TIMEOUT_MS',
      z.coerce.number().int().min(100).default(queryTimeoutMs),
    ),
  });
}

export const redisSettings = group(
  {
    /** One server; with `cluster`, one or more comma-separated seed nodes of a Redis Cluster. */
    url: secret('REDIS_URL', z.string().default('redis://127.0.0.1:6379')),
    /**
     * Talk to a Redis Cluster: the nodes in `url` are seeds, the others are discovered. BullMQ's keys then
     * carry the prefix as a hash tag (`{rag}`), so each queue's keys share one slot as its scripts need.
     */
    cluster: plain(
      'REDIS_CLUSTER',
      z
        .enum(['true', 'false'])
        .default('false')
        .transform((value) => value === 'true'),
    ),
    /** Prefix of every BullMQ and cache key; tests give each worker its own. */
    keyPrefix: plain(
      'REDIS_KEY_PREFIX',
      z
        .string()
        .regex(/^[A-Za-z0-9_:-]+$/, 'only letters, digits, _, : and - (a cluster adds the hash tag itself)')
        .default('rag'),
    ),
    /** Longest a Redis command of a request may take before failing (a hung Redis answers 503, not a hang). */
    commandTimeoutMs: plain('REDIS_COMMAND_TIMEOUT_MS', z.coerce.number().int().min(100).default(2_000)),
  },
  (redis, ctx) => {
    if (!redis.cluster) return;
    for (const message of parseClusterSeeds(redis.url).problems)
      ctx.addIssue({ code: 'custom', path: ['url'], message });
  },
);

export const milvusSettings = group({
  address: plain('MILVUS_ADDRESS', z.string().min(1).default('127.0.0.1:19530')),
  token: secret('MILVUS_TOKEN', z.string().optional()),
  database: plain('MILVUS_DATABASE', z.string().optional()),
  collectionPrefix: plain(
    'MILVUS_COLLECTION_PREFIX',
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('rag_'),
  ),
  /**
   * Where BM25 vectors come from: `token-ids` (ours, from the model tokenizer; any language, any Milvus) or
   * `milvus-function` (Milvus's BM25 function over the chunk text with its `standard` analyzer).
   */
  bm25: plain('MILVUS_BM25', z.enum(['token-ids', 'milvus-function']).default('token-ids')),
  /**
   * Deadline of one search call. Shorter than the gateway's 30 s, so a search already waiting on a Milvus
   * that hangs answers 503 with Retry-After rather than 504 at the gateway; writes keep the SDK's 30 s.
   */
  searchTimeoutMs: plain('MILVUS_SEARCH_TIMEOUT_MS', z.coerce.number().int().min(100).default(10_000)),
});

export const serviceTokenSetting = secret('SERVICE_TOKEN', serviceTokenSchema);

/** The default model's embedding service (EMBEDDING_SERVICE_URL). */
export const embeddingServiceUrlSetting = plain(
  'EMBEDDING_SERVICE_URL',
  serviceUrlSchema.default('http://127.0.0.1:8081'),
);

/** The embedding services of further models (EMBEDDING_SERVICE_URLS, comma-separated), each naming its model. */
export const otherEmbeddingServiceUrlsSetting = plain(
  'EMBEDDING_SERVICE_URLS',
  commaListSchema.pipe(z.array(serviceUrlSchema)),
);

export const searchServiceUrlSetting = plain(
  'SEARCH_SERVICE_URL',
  serviceUrlSchema.default('http://127.0.0.1:8082'),
);
