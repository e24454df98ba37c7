import { embedRequestSchema } from '@rag/contracts/embedding-api';
import { createServiceApp, requireJson, type ServiceApp } from '@rag/http/service-app';
import { requireServiceToken } from '@rag/http/service-token';
import { parseInput } from '@rag/http/validate';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import { Counter, Histogram } from 'prom-client';
import type { Embedder } from './engine/embedder.js';

export interface EmbeddingAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  embedder: Embedder;
  serviceToken: string;
}

export function createEmbeddingApp(deps: EmbeddingAppDeps): ServiceApp {
  const registers = [deps.metrics.registry];
  const textsTotal = new Counter({
    name: 'embedding_texts_total',
    help: 'Texts embedded, by kind (query or passage).',
    labelNames: ['kind'] as const,
    registers,
  });
  const tokensTotal = new Counter({
    name: 'embedding_tokens_total',
    help: 'Tokens embedded (after truncation, with special tokens).',
    registers,
  });
  const duration = new Histogram({
    name: 'embedding_duration_seconds',
    help: 'Time to answer one embed request, queueing included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  return createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    // 256 texts of a few thousand characters each.
    bodyLimit: '8mb',
    readiness: [],
    routes(app) {
      app.use('/v1', requireServiceToken(deps.serviceToken));
      app.get('/v1/model', (_req, res) => {
        res.json(deps.embedder.info);
      });
      app.post('/v1/embed', requireJson, async (req, res) => {
        const request = parseInput(embedRequestSchema, req.body);
        const stop = duration.startTimer();
        const data = await deps.embedder.embed(request.texts, {
          kind: request.kind,
          outputs: request.outputs,
        });
        stop();
        textsTotal.inc({ kind: request.kind }, request.texts.length);
        tokensTotal.inc(data.reduce((sum, e) => sum + e.tokens, 0));
        res.json({ model: deps.embedder.info, data });
      });
    },
  });
}
