import type { Authenticator } from '@rag/auth/authenticate';
import { checkPostgres, type Pool } from '@rag/db/pool';
import { createServiceApp, type ServiceApp } from '@rag/http/service-app';
import type { WebhookSecretCipher } from '@rag/ingest-contract/webhook-secret-cipher';
import type { WebhookTargetPolicy } from '@rag/ingest-contract/webhook-target';
import type { EmbeddingModels } from '@rag/service-clients/embedding-models';
import type { SearchClient } from '@rag/service-clients/search-client';
import type { ObjectStorage } from '@rag/storage/object-storage';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { type ConsoleSignIn, consolePath, consoleStatic } from './console-static.js';
import type { IngestQueue } from './ingest-queue.js';
import { mcpEndpoint } from './mcp/mcp-endpoint.js';
import { createRouteDispatch } from './mcp/route-dispatcher.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { openAiErrorHandler } from './openai-errors.js';
import { buildOpenApiDocument } from './openapi.js';
import { authenticateRequests } from './principal-middleware.js';
import type { RateLimits } from './rate-limits.js';
import type { ReindexQueue } from './reindex-queue.js';
import { type RequestCache, uncachedRequests } from './request-cache.js';
import { publicRoutes } from './route-table.js';
import { adminRoutes } from './routes/admin-routes.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { credentialRoutes } from './routes/credential-routes.js';
import { documentRoutes } from './routes/document-routes.js';
import { embeddingRoutes } from './routes/embedding-routes.js';
import { reindexRoutes } from './routes/reindex-routes.js';
import { searchRoutes } from './routes/search-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';

export interface GatewayDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  pool: Pool;
  queue: IngestQueue;
  /** Reindex jobs (moving a collection to another model); without it those routes answer 503. */
  reindexQueue?: ReindexQueue;
  storage: ObjectStorage;
  /** Largest uploaded document file. */
  maxUploadBytes: number;
  search: SearchClient;
  /** The served embedding models, for the OpenAI-compatible routes. */
  models: EmbeddingModels;
  authenticate: Authenticator;
  /** Keys and collections read on every request; changes to them invalidate it (uncached when left out). */
  cache?: RequestCache;
  apiKeyPepper: string;
  bodyLimit: string;
  rateLimits: RateLimits;
  corsOrigins: string[];
  /** Where tenants' webhooks may point, and the cipher their signing secrets are stored under. */
  webhooks: { targets: WebhookTargetPolicy; cipher: WebhookSecretCipher };
  /** The built web console, served at /console; none when left out. */
  consoleDir?: string | undefined;
  /** The console's sign-in at the JWT issuer; paste-a-credential only when left out. */
  consoleSignIn?: ConsoleSignIn | undefined;
}

export function createGatewayApp(deps: GatewayDeps): ServiceApp {
  const cache = deps.cache ?? uncachedRequests;
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    bodyLimit: deps.bodyLimit,
    readiness: [
      { name: 'postgres', check: () => checkPostgres(deps.pool) },
      { name: 'redis', check: () => deps.queue.checkHealth() },
      // Searches need it; it reports Milvus down as well, so readiness names what is missing.
      { name: 'search-service', check: () => deps.search.checkHealth() },
    ],
    routes(app) {
      const openApi = buildOpenApiDocument('1');
      app.get('/openapi.json', (_req, res) => {
        res.json(openApi);
      });
      if (deps.consoleDir !== undefined) {
        app.use(consoleStatic(deps.consoleDir, deps.consoleSignIn));
        app.get('/', (_req, res) => res.redirect(302, `${consolePath}/`));
      }
      app.use(helmet());
      app.use(
        cors({
          origin: deps.corsOrigins,
          allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
          exposedHeaders: [
            'x-request-id',
            'retry-after',
            'ratelimit-limit',
            'ratelimit-remaining',
            'ratelimit-reset',
          ],
          maxAge: 600,
        }),
      );
      const routeCalls = createRouteDispatch(app);
      const cacheScope: RequestHandler = (_req, _res, next) => cache.scope(next);
      // Per address before authentication, so guessing keys is as slow as anything else. An MCP tool's route
      // call has been through the first three as part of its MCP request (and runs in its cache scope).
      app.use(
        '/v1',
        routeCalls.unlessRouteCall(cacheScope),
        routeCalls.unlessRouteCall(deps.rateLimits.byAddress),
        routeCalls.unlessRouteCall(authenticateRequests(deps.authenticate)),
        deps.rateLimits.byCredential,
      );
      app.use(adminRoutes({ pool: deps.pool, apiKeyPepper: deps.apiKeyPepper, cache }));
      app.use(credentialRoutes());
      app.use(collectionRoutes({ pool: deps.pool, queue: deps.queue, cache, models: deps.models }));
      app.use(reindexRoutes({ pool: deps.pool, queue: deps.reindexQueue, models: deps.models }));
      app.use(
        documentRoutes({
          pool: deps.pool,
          queue: deps.queue,
          storage: deps.storage,
          upload: { maxFileBytes: deps.maxUploadBytes, maxFieldBytes: 256 * 1024 },
        }),
      );
      app.use(webhookRoutes({ pool: deps.pool, ...deps.webhooks }));
      app.use(searchRoutes({ pool: deps.pool, search: deps.search, cache }));
      app.use(embeddingRoutes({ models: deps.models }));
      // MCP: limited by address and authenticated like /v1; each tool call then passes through /v1 itself,
      // in this process, as the principal authenticated here.
      app.post(
        '/mcp',
        cacheScope,
        deps.rateLimits.byAddress,
        authenticateRequests(deps.authenticate),
        mcpEndpoint(routeCalls.dispatch),
      );
      app.use(
        methodNotAllowed([
          ...publicRoutes,
          { method: 'get', path: '/openapi.json' },
          ...(deps.consoleDir !== undefined ? [{ method: 'get' as const, path: '/' }] : []),
          // Stateless Streamable HTTP: no server-sent event stream to GET, no session to DELETE.
          { method: 'post', path: '/mcp' },
        ]),
      );
      // Last: every error on these paths, authentication and 405 included, in OpenAI's shape.
      app.use(
        publicRoutes
          .filter((route) => 'errorBody' in route && route.errorBody === 'openai')
          .map((route) => route.path),
        openAiErrorHandler(),
      );
    },
  });
}
