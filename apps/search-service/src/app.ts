import type { SearchTimings } from '@rag/contracts/search-api';
import { internalSearchRequestSchema } from '@rag/contracts/search-api';
import { checkPostgres, type Pool } from '@rag/db/pool';
import { createServiceApp, requireJson, type ServiceApp } from '@rag/http/service-app';
import { requireServiceToken } from '@rag/http/service-token';
import { parseInput } from '@rag/http/validate';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import type { Histogram } from 'prom-client';
import type { DependencyWatch } from './dependency-watch.js';
import type { SearchEngine } from './search-engine.js';

export interface SearchAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  pool: Pool;
  search: SearchEngine;
  searchDuration: Histogram<'mode' | 'outcome'>;
  checkVectorStore: () => Promise<void>;
  checkEmbeddings: () => Promise<void>;
  serviceToken: string;
  /**
   * Dependencies watched in the background: while one is known to be down, searches answer 503 with
   * Retry-After at once instead of waiting for its timeout.
   */
  watched?: DependencyWatch[];
}

export function createSearchApp(deps: SearchAppDeps): ServiceApp {
  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    bodyLimit: '64kb',
    readiness: [
      { name: 'postgres', check: () => checkPostgres(deps.pool) },
      { name: 'milvus', check: deps.checkVectorStore },
      { name: 'embedding-service', check: deps.checkEmbeddings },
    ],
    routes(app) {
      // No ETag: every answer goes to the gateway, which never revalidates one; hashing each cost CPU per search.
      app.set('etag', false);
      app.use('/v1', requireServiceToken(deps.serviceToken));
      // For callers (the gateway's readiness): 503 naming the watched dependency that is down.
      app.get('/v1/health', (_req, res) => {
        for (const watch of deps.watched ?? []) watch.assertUp();
        res.json({ status: 'ok' });
      });
      app.post('/v1/search', requireJson, async (req, res) => {
        const request = parseInput(internalSearchRequestSchema, req.body);
        for (const watch of deps.watched ?? []) watch.assertUp();
        const stop = deps.searchDuration.startTimer({ mode: request.mode });
        try {
          const answer = await deps.search(request);
          stop({ outcome: 'ok' });
          res.setHeader('Server-Timing', serverTiming(answer.timings));
          res.json(answer);
        } catch (error) {
          stop({ outcome: 'error' });
          throw error;
        }
      });
    },
  });
}

/** Stage timings for callers and benchmarks: embedding and Milvus time versus the service's own. */
export function serverTiming(timings: SearchTimings): string {
  return [
    `embed;dur=${timings.embedMs.toFixed(2)}`,
    `milvus;dur=${timings.vectorMs.toFixed(2)}`,
    `db;dur=${timings.databaseMs.toFixed(2)}`,
    `rerank;dur=${timings.rerankMs.toFixed(2)}`,
    `search;dur=${timings.totalMs.toFixed(2)}`,
    ...(timings.cached ? ['cache;desc=hit'] : []),
  ].join(', ');
}
