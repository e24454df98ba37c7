import { AppError, isAppError } from '@rag/contracts/app-error';
import { embedRequestSchema, tokenizeRequestSchema } from '@rag/contracts/embedding-api';
import { embeddingInputs, serviceEmbeddingsRequestSchema } from '@rag/contracts/openai-embeddings';
import { createServiceApp, requireJson, type ServiceApp } from '@rag/http/service-app';
import { requireServiceToken } from '@rag/http/service-token';
import { parseInput } from '@rag/http/validate';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import type { Request, RequestHandler, Response } from 'express';
import type { RequestLimits } from './config.js';
import { createEmbeddingMetrics, type EmbeddingMetrics } from './embedding-metrics.js';
import type { Embedder } from './engine/embedder.js';
import { encodeBase64Float32 } from './openai-embeddings.js';
import { checkInputCount, checkInputs } from './request-limits.js';

export interface EmbeddingAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  embedder: Embedder;
  serviceToken: string;
  limits: RequestLimits;
}

export const defaultRequestLimits: RequestLimits = {
  maxInputs: 256,
  maxInputChars: 100_000,
  maxTotalTokens: 131_072,
};

// Tokenisation serves chunking of whole documents, so its limits are the body size and this count only.
const maxTokenizeInputs = 4096;

export function createEmbeddingApp(deps: EmbeddingAppDeps): ServiceApp {
  const { embedder, limits } = deps;
  const metrics = createEmbeddingMetrics(deps.metrics.registry, embedder);

  const service = createServiceApp({
    logger: deps.logger,
    metrics: deps.metrics,
    // Whole documents come to /v1/tokenize.
    bodyLimit: '32mb',
    strictUtf8: true,
    readiness: [],
    readinessDetails: () => ({
      model: embedder.info.name,
      provider: embedder.settings.provider.name,
      ...(embedder.settings.provider.name === 'cuda'
        ? { deviceId: embedder.settings.provider.deviceId }
        : {}),
    }),
    routes(app) {
      app.use('/v1', requireServiceToken(deps.serviceToken));
      app.get('/v1/model', (_req, res) => {
        res.json(embedder.info);
      });
      app.get('/v1/models', (_req, res) => {
        res.json({
          object: 'list',
          data: [{ id: embedder.info.name, object: 'model', owned_by: 'rag-system', ...embedder.info }],
        });
      });

      app.post(
        '/v1/embed',
        requireJson,
        counted(metrics, 'embed', async (req, res) => {
          const request = parseInput(embedRequestSchema, req.body);
          checkInputs(request.inputs, limits);
          const started = performance.now();
          const data = await embedder.embed(request.inputs, {
            kind: request.kind,
            outputs: request.outputs,
            truncate: request.truncate,
            priority: request.priority,
            maxTotalTokens: limits.maxTotalTokens,
            signal: clientGone(req, res),
          });
          const tokens = data.reduce((sum, e) => sum + e.tokens, 0);
          metrics.embedded(request.kind, request.inputs.length, tokens, (performance.now() - started) / 1000);
          res.json({ model: embedder.info, data });
        }),
      );

      app.post(
        '/v1/embeddings',
        requireJson,
        counted(metrics, 'openai_embeddings', async (req, res) => {
          const request = parseInput(serviceEmbeddingsRequestSchema, req.body);
          const inputs = embeddingInputs(request.input);
          if ('texts' in inputs) checkInputs(inputs.texts, limits, 'input');
          else checkInputCount(inputs.tokenIds.length, limits, 'input');
          if (request.dimensions !== undefined && request.dimensions !== embedder.info.dim) {
            throw new AppError(
              'validation_failed',
              `dimensions: model ${embedder.info.name} gives ${embedder.info.dim} dimensions only, not ${request.dimensions}`,
              { context: { issues: [{ path: 'dimensions', message: 'not available for this model' }] } },
            );
          }
          const started = performance.now();
          const options = {
            outputs: ['dense'] as const,
            maxTotalTokens: limits.maxTotalTokens,
            signal: clientGone(req, res),
          };
          const data =
            'texts' in inputs
              ? await embedder.embed(inputs.texts, { ...options, kind: request.kind, truncate: true })
              : await embedder.embedTokenIds(inputs.tokenIds, options);
          const count = 'texts' in inputs ? inputs.texts.length : inputs.tokenIds.length;
          const tokens = data.reduce((sum, e) => sum + e.tokens, 0);
          metrics.embedded(request.kind, count, tokens, (performance.now() - started) / 1000);
          res.json({
            object: 'list',
            data: data.map((embedding, index) => ({
              object: 'embedding',
              index,
              embedding:
                request.encoding_format === 'base64'
                  ? encodeBase64Float32(embedding.dense!)
                  : embedding.dense,
            })),
            model: embedder.info.name,
            usage: { prompt_tokens: tokens, total_tokens: tokens },
          });
        }),
      );

      app.post(
        '/v1/tokenize',
        requireJson,
        counted(metrics, 'tokenize', async (req, res) => {
          const request = parseInput(tokenizeRequestSchema, req.body);
          if (request.inputs.length > maxTokenizeInputs) {
            throw new AppError(
              'payload_too_large',
              `Tokenize at most ${maxTokenizeInputs} inputs per request, got ${request.inputs.length}`,
            );
          }
          checkInputs(request.inputs, { ...limits, maxInputs: maxTokenizeInputs, maxInputChars: Infinity });
          const data = await embedder.tokenize(request.inputs, {
            addSpecialTokens: request.add_special_tokens,
            offsets: request.offsets,
            truncate: request.truncate,
          });
          res.json({ model: embedder.info.name, data });
        }),
      );
    },
  });
  // No ETag: every answer is new, and hashing each (an embedding is some 8 kB of JSON) took CPU from inference.
  service.app.set('etag', false);
  return service;
}

/** Wraps a route with te_request_* counting, and adds Retry-After to a 429. */
function counted(
  metrics: EmbeddingMetrics,
  method: string,
  handler: (req: Request, res: Response) => Promise<void>,
): RequestHandler {
  return async (req, res) => {
    const request = metrics.startRequest(method);
    try {
      await handler(req, res);
      request.succeeded();
    } catch (error) {
      const code = isAppError(error) ? error.code : 'internal';
      request.failed(code);
      if (isAppError(error) && error.code === 'rate_limited') {
        res.setHeader('retry-after', String(error.context.retryAfterSeconds ?? 1));
      }
      throw error;
    }
  };
}

/** Aborts when the client closes the connection before the answer is sent, so its queued texts are dropped. */
function clientGone(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  req.once('error', () => controller.abort());
  return controller.signal;
}
