import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '@rag/auth/authenticate';
import { findActiveApiKeyByHash } from '@rag/db/api-key-repository';
import { migrate } from '@rag/db/migrate';
import { createPool } from '@rag/db/pool';
import { insertTenant } from '@rag/db/tenant-repository';
import { closeServer, listen } from '@rag/http/http-server';
import {
  createWebhookSecretCipher,
  parseWebhookSecretKeys,
} from '@rag/ingest-contract/webhook-secret-cipher';
import type { WebhookTargetPolicy } from '@rag/ingest-contract/webhook-target';
import { createEmbeddingModels } from '@rag/service-clients/embedding-models';
import { createSearchClient } from '@rag/service-clients/search-client';
import { createLocalStorage } from '@rag/storage/local-storage';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { Redis } from 'ioredis';
import { createGatewayApp, type GatewayDeps } from './app.js';
import { createIngestQueue } from './ingest-queue.js';
import { createRateLimits } from './rate-limits.js';
import { createReindexQueue } from './reindex-queue.js';
import { createRequestCache } from './request-cache.js';

export const testAdminKey = `admin-${'0123456789abcdef'.repeat(2)}`;
/** The token the gateway sends to the internal services. */
export const testServiceToken = 'x'.repeat(32);

export interface TestGateway {
  db: TestDatabase;
  /** `http://127.0.0.1:port`, for requests call() does not make (multipart uploads). */
  base: string;
  /** The local object storage folder. */
  storageRoot: string;
  /** The Redis connection and key prefix of the gateway's queues, for tests that read what was queued. */
  redis: Redis;
  queuePrefix: string;
  /** JSON request to the gateway; the bootstrap admin key unless another is given. */
  call(
    method: string,
    path: string,
    /** `key: null` sends no Authorization header at all. */
    options?: { key?: string | null; body?: unknown },
  ): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }>;
  close(): Promise<void>;
}

/**
 * The gateway app on a free local port with the real PostgreSQL (a private schema), Redis (a private key
 * prefix) and local object storage; the search service is not started (routes under test do not call it).
 */
export async function startTestGateway(
  options: {
    webhookTargets?: WebhookTargetPolicy;
    tenants?: string[];
    /** A private PostgreSQL: the app then uses the production pool with short timeouts on it. */
    postgresUrl?: string;
    /** A built web console to serve at /console. */
    consoleDir?: string;
    /** The search service's base URL (default: nothing listens; routes under test do not call it). */
    searchUrl?: string;
    /** The embedding services' base URLs, the default model's first (default: nothing listens). */
    embeddingUrls?: string[];
    /** A reindex queue on the test's Redis prefix (default: none, so reindexing answers 503). */
    reindexQueue?: boolean;
  } = {},
): Promise<TestGateway> {
  const db = await createTestDatabase('gateway', migrate, options.postgresUrl);
  const appPool =
    options.postgresUrl === undefined
      ? db.pool
      : createPool({
          url: options.postgresUrl,
          schema: db.schema,
          poolSize: 5,
          applicationName: 'gateway-test',
          connectTimeoutMs: 1_000,
          queryTimeoutMs: 1_000,
        });
  for (const tenant of ['default', ...(options.tenants ?? [])]) await insertTenant(db.pool, tenant, tenant);
  const prefix = uniqueTestPrefix('gateway');
  const redis = new Redis('redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
  const storageRoot = await mkdtemp(join(tmpdir(), 'rag-gateway-test-'));
  const pepper = 'test-pepper';
  const queue = createIngestQueue({ connection: redis, prefix, attempts: 1, backoffMs: 100 });
  const reindexQueue = options.reindexQueue ? createReindexQueue({ connection: redis, prefix }) : undefined;
  // The production cache, so every route test (revocations included) runs with it.
  const cache = createRequestCache({ redis, keyPrefix: prefix, ttlMs: 60_000 });
  const deps: GatewayDeps = {
    consoleDir: options.consoleDir,
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    metrics: createServiceMetrics('gateway'),
    pool: appPool,
    queue,
    ...(reindexQueue ? { reindexQueue } : {}),
    storage: createLocalStorage({ root: storageRoot }),
    maxUploadBytes: 1024 * 1024,
    search: createSearchClient({
      baseUrl: options.searchUrl ?? 'http://127.0.0.1:9',
      serviceToken: testServiceToken,
    }),
    // The OpenAI-compatible routes with real models are tested end to end (tests/e2e).
    models: createEmbeddingModels({
      defaultUrl: options.embeddingUrls?.[0] ?? 'http://127.0.0.1:9',
      otherUrls: options.embeddingUrls?.slice(1) ?? [],
      serviceToken: testServiceToken,
    }),
    authenticate: createAuthenticator({
      adminApiKey: testAdminKey,
      defaultTenant: 'default',
      pepper,
      findKeyByHash: (hash) => cache.key(hash, () => findActiveApiKeyByHash(appPool, hash)),
    }),
    cache,
    apiKeyPepper: pepper,
    bodyLimit: '1mb',
    rateLimits: createRateLimits({
      redis,
      keyPrefix: prefix,
      perAddressPerMinute: 100_000,
      perCredentialPerMinute: 100_000,
    }),
    corsOrigins: [],
    webhooks: {
      targets: options.webhookTargets ?? { allowedHosts: [], allowPrivate: false },
      cipher: createWebhookSecretCipher(parseWebhookSecretKeys(`test:${randomBytes(32).toString('base64')}`)),
    },
  };
  const { app } = createGatewayApp(deps);
  const server = await listen(app, '127.0.0.1', 0);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    db,
    base,
    storageRoot,
    redis,
    queuePrefix: prefix,
    async call(method, path, callOptions = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(callOptions.key === null ? {} : { authorization: `Bearer ${callOptions.key ?? testAdminKey}` }),
          ...(callOptions.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(callOptions.body === undefined ? {} : { body: JSON.stringify(callOptions.body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : {},
        retryAfter: response.headers.get('retry-after'),
      };
    },
    async close() {
      await closeServer(server, 1000);
      await queue.close();
      await reindexQueue?.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      if (appPool !== db.pool) await appPool.end();
      await db.drop();
      await rm(storageRoot, { recursive: true, force: true });
    },
  };
}
