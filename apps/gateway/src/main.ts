import { createAuthenticator } from '@rag/auth/authenticate';
import { createJwtVerifier } from '@rag/auth/jwt-verifier';
import { findActiveApiKeyByHash } from '@rag/db/api-key-repository';
import { migrate } from '@rag/db/migrate';
import { createPool } from '@rag/db/pool';
import { insertTenant } from '@rag/db/tenant-repository';
import { closeServer } from '@rag/http/http-server';
import { listenService } from '@rag/http/service-listeners';
import { failReadiness, onShutdownSignal } from '@rag/http/shutdown';
import { createWebhookSecretCipher, webhookSecretKeys } from '@rag/ingest-contract/webhook-secret-cipher';
import { queueKeyPrefix } from '@rag/redis/queue-key-prefix';
import { createRedisConnection } from '@rag/redis/redis-connection';
import { createEmbeddingModels } from '@rag/service-clients/embedding-models';
import { createSearchClient } from '@rag/service-clients/search-client';
import { createObjectStorage } from '@rag/storage/storage-config';
import { flushTelemetry } from '@rag/telemetry/flush';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createGatewayApp } from './app.js';
import { jwtOptions, loadConfig } from './config.js';
import { createIngestQueue } from './ingest-queue.js';
import { createRateLimits } from './rate-limits.js';
import { createReindexQueue } from './reindex-queue.js';
import { createRequestCache } from './request-cache.js';
import { startStuckWorkSweeper } from './stuck-work-sweeper.js';
import { resealWebhookSecrets } from './webhook-secret-reseal.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'gateway', level: config.logLevel });
const metrics = createServiceMetrics('gateway');

const pool = createPool({ ...config.postgres, applicationName: 'gateway' });
await migrate(pool, config.postgres.schema);
await insertTenant(pool, config.auth.defaultTenant, config.auth.defaultTenant);

const webhookCipher = createWebhookSecretCipher(
  webhookSecretKeys(config.webhooks.secretKeys, config.serviceToken),
);
await resealWebhookSecrets(pool, webhookCipher, logger);

// Producers fail fast while Redis is down (no offline queue), so callers get a 503 instead of a hang.
const redis = createRedisConnection(config.redis, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // A hung Redis fails the command (rate limits fall back in memory, queue adds answer 503) instead of waiting.
  commandTimeout: config.redis.commandTimeoutMs,
});
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
const queue = createIngestQueue({
  connection: redis,
  prefix: queueKeyPrefix(config.redis),
  ...config.ingest,
});
const reindexQueue = createReindexQueue({ connection: redis, prefix: queueKeyPrefix(config.redis) });
const storage = createObjectStorage(config.storage);

// Keys and collections every request reads, kept until a change sets a new epoch in Redis (request-cache.ts).
const requestCache = createRequestCache({
  redis,
  keyPrefix: config.redis.keyPrefix,
  ttlMs: config.auth.cacheTtlMs,
});
const jwt = config.jwt && createJwtVerifier(jwtOptions(config.jwt));
const authenticate = createAuthenticator({
  adminApiKey: config.auth.adminApiKey,
  defaultTenant: config.auth.defaultTenant,
  pepper: config.auth.apiKeyPepper,
  findKeyByHash: (hash) => requestCache.key(hash, () => findActiveApiKeyByHash(pool, hash)),
  ...(jwt ? { jwt } : {}),
});

const { app, management, lifecycle } = createGatewayApp({
  logger,
  metrics,
  pool,
  queue,
  reindexQueue,
  storage,
  maxUploadBytes: config.ingest.maxUploadBytes,
  search: createSearchClient({ baseUrl: config.searchServiceUrl, serviceToken: config.serviceToken }),
  models: createEmbeddingModels({
    defaultUrl: config.embeddingServices.defaultUrl,
    otherUrls: config.embeddingServices.otherUrls,
    serviceToken: config.serviceToken,
  }),
  rateLimits: createRateLimits({ redis, keyPrefix: config.redis.keyPrefix, ...config.rateLimits }),
  corsOrigins: config.corsOrigins,
  authenticate,
  cache: requestCache,
  apiKeyPepper: config.auth.apiKeyPepper,
  bodyLimit: config.limits.bodyLimit,
  webhooks: {
    targets: { allowedHosts: config.webhooks.allowedHosts, allowPrivate: config.webhooks.allowPrivate },
    cipher: webhookCipher,
  },
  consoleDir: config.consoleDir,
  consoleSignIn:
    config.consoleOidc && config.jwt ? { issuer: config.jwt.issuer, ...config.consoleOidc } : undefined,
});
const listeners = await listenService({ app, management }, config.http);
logger.info(
  { host: config.http.host, port: listeners.port, management_port: listeners.managementPort },
  'gateway listening',
);

// Deletions and documents whose job could not be queued (Redis was down) get it once Redis is back.
const sweeper = startStuckWorkSweeper({ pool, queue, logger, intervalMs: 30_000, olderThanMs: 30_000 });

onShutdownSignal(logger, [
  failReadiness(lifecycle, config.http.shutdownDelayMs),
  { name: 'drain http', run: () => closeServer(listeners.server, config.http.shutdownGraceMs) },
  { name: 'stop sweeper', run: () => sweeper.stop() },
  { name: 'close queue', run: async () => void (await Promise.all([queue.close(), reindexQueue.close()])) },
  { name: 'close redis', run: async () => void redis.disconnect() },
  { name: 'close storage', run: () => storage.close() },
  { name: 'close postgres', run: () => pool.end() },
  // Last, so that readiness answers 503 (not a refused connection) for as long as the process runs.
  { name: 'close management', run: () => closeServer(listeners.management, 1000) },
  { name: 'flush telemetry', run: flushTelemetry },
]);
