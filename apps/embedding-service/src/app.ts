import { AppError } from '@rag/contracts/app-error';
import { embedRequestSchema, tokenizeRequestSchema } from '@rag/contracts/embedding-api';
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

// Tokenisation serves chunking of whole documents, so its limits are the body size and this count only.
const maxTokenizeInputs = 4096;

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
    // Whole documents come to /v1/tokenize.
    bodyLimit: '32mb',
    readiness: [],
    routes(app) {
      app.use('/v1', requireServiceToken(deps.serviceToken));
      app.get('/v1/model', (_req, res) => {
        res.json(deps.embedder.info);
      });
      app.post('/v1/embed', requireJson, async (req, res) => {
        const request = parseInput(embedRequestSchema, req.body);
        const stop = duration.startTimer();
        const data = await deps.embedder.embed(request.inputs, {
          kind: request.kind,
          outputs: request.outputs,
        });
        stop();
        textsTotal.inc({ kind: request.kind }, request.inputs.length);
        tokensTotal.inc(data.reduce((sum, e) => sum + e.tokens, 0));
        res.json({ model: deps.embedder.info, data });
      });
      app.post('/v1/tokenize', requireJson, async (req, res) => {
        const request = parseInput(tokenizeRequestSchema, req.body);
        if (request.inputs.length > maxTokenizeInputs) {
          throw new AppError(
            'payload_too_large',
            `Tokenize at most ${maxTokenizeInputs} inputs per request, got ${request.inputs.length}`,
          );
        }
        const data = await deps.embedder.tokenize(request.inputs, {
          addSpecialTokens: request.add_special_tokens,
          offsets: request.offsets,
          truncate: request.truncate,
        });
        res.json({ model: deps.embedder.info.name, data });
      });
    },
  });
}
