/**
 * Started with `node --import @rag/telemetry/register dist/main.js`: ESM hoists imports, so the SDK and
 * the module hooks must be in place before the application's first import, which only --import allows.
 * This is the one telemetry file that reads process.env, like a composition root.
 */
import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isProbePath } from './probe-paths.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const exportEndpoint =
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'rag-system',
  // Without a collector we still record spans, so that trace ids reach the logs and cross services.
  spanProcessors: [
    exportEndpoint ? new BatchSpanProcessor(new OTLPTraceExporter()) : new NoopSpanProcessor(),
  ],
  instrumentations: [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => isProbePath(request.url ?? ''),
    }),
    // Calls between our services go through node:http (seen above); fetch (undici) serves the rest (JWKS, MCP).
    new UndiciInstrumentation(),
    // One span per route handler (the request span still gets its route); none per middleware or router,
    // which every request walks through by the dozen (about 0.3 ms of CPU per search request: README, Search benchmark).
    new ExpressInstrumentation({
      ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
    }),
    new PgInstrumentation(),
    new IORedisInstrumentation(),
  ],
});
sdk.start();
