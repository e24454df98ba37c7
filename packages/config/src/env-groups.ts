import { defined } from './common-schemas.js';
import { type Env, readSecret } from './secret.js';

/**
 * The environment variables behind each shared config group, in one place: every service reads the same
 * names, and problems are reported with those names.
 */

export function httpFromEnv(env: Env) {
  return defined({
    host: env.HOST,
    port: env.PORT,
    managementPort: env.MANAGEMENT_PORT,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
  });
}

export function postgresFromEnv(env: Env) {
  return defined({
    url: readSecret(env, 'DATABASE_URL'),
    schema: env.DATABASE_SCHEMA,
    poolSize: env.DATABASE_POOL_SIZE,
    connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS,
  });
}

export function redisFromEnv(env: Env) {
  return defined({
    url: readSecret(env, 'REDIS_URL'),
    cluster: env.REDIS_CLUSTER,
    keyPrefix: env.REDIS_KEY_PREFIX,
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
  });
}

export function milvusFromEnv(env: Env) {
  return defined({
    address: env.MILVUS_ADDRESS,
    token: readSecret(env, 'MILVUS_TOKEN'),
    database: env.MILVUS_DATABASE,
    collectionPrefix: env.MILVUS_COLLECTION_PREFIX,
    bm25: env.MILVUS_BM25,
    searchTimeoutMs: env.MILVUS_SEARCH_TIMEOUT_MS,
  });
}

export const sharedEnvNames: Record<string, string> = {
  'http.host': 'HOST',
  'http.port': 'PORT',
  'http.managementPort': 'MANAGEMENT_PORT',
  'http.shutdownGraceMs': 'SHUTDOWN_GRACE_MS',
  'http.shutdownDelayMs': 'SHUTDOWN_DELAY_MS',
  logLevel: 'LOG_LEVEL',
  'postgres.url': 'DATABASE_URL',
  'postgres.schema': 'DATABASE_SCHEMA',
  'postgres.poolSize': 'DATABASE_POOL_SIZE',
  'postgres.connectTimeoutMs': 'DATABASE_CONNECT_TIMEOUT_MS',
  'postgres.queryTimeoutMs': 'DATABASE_QUERY_TIMEOUT_MS',
  'milvus.bm25': 'MILVUS_BM25',
  'redis.url': 'REDIS_URL',
  'redis.cluster': 'REDIS_CLUSTER',
  'redis.keyPrefix': 'REDIS_KEY_PREFIX',
  'redis.commandTimeoutMs': 'REDIS_COMMAND_TIMEOUT_MS',
  'milvus.address': 'MILVUS_ADDRESS',
  'milvus.collectionPrefix': 'MILVUS_COLLECTION_PREFIX',
  'milvus.searchTimeoutMs': 'MILVUS_SEARCH_TIMEOUT_MS',
  embeddingServiceUrl: 'EMBEDDING_SERVICE_URL',
  searchServiceUrl: 'SEARCH_SERVICE_URL',
  serviceToken: 'SERVICE_TOKEN',
};
