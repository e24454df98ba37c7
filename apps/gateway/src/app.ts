import type { Authenticator } from '@rag/auth/authenticate';
import type { SearchClient } from '@rag/contracts/search-client';
import { checkPostgres, type Pool } from '@rag/db/pool';
import { createServiceApp, type ServiceApp } from '@rag/http/service-app';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import type { IngestQueue } from './ingest-queue.js';
import { buildOpenApiDocument } from './openapi.js';
import { authenticateRequests } from './principal-middleware.js';
import { adminRoutes } from './routes/admin-routes.js';
import { collectionRoutes } from './routes/collection-routes.js';
import { documentRoutes } from './routes/document-routes.js';
import { searchRoutes } from './routes/search-routes.js';

export interface GatewayDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  pool: Pool;
  queue: IngestQueue;
  search: SearchClient;
  authenticate: Authenticator;
  apiKeyPepper: string;
  bodyLimit: string;
}

export function createGatewayApp(deps: GatewayDeps): ServiceApp {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    bodyLimit: deps.bodyLimit,
    readiness: [
      { name: 'postgres', check: () => checkPostgres(deps.pool) },
      { name: 'redis', check: () => deps.queue.checkHealth() },
    ],
    routes(app) {
      const openApi = buildOpenApiDocument('1');
      app.get('/openapi.json', (_req, res) => {
        res.json(openApi);
      });
      app.use('/v1', authenticateRequests(deps.authenticate));
      app.use(adminRoutes({ pool: deps.pool, apiKeyPepper: deps.apiKeyPepper }));
      app.use(collectionRoutes({ pool: deps.pool, queue: deps.queue }));
      app.use(documentRoutes({ pool: deps.pool, queue: deps.queue }));
      app.use(searchRoutes({ pool: deps.pool, search: deps.search }));
    },
  });
}
