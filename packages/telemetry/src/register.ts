/**
 * Started with `node --import @rag/telemetry/register dist/main.js`: ESM hoists imports, so the SDK and
 * the module hooks must be in place before the application's first import, which only --import allows.
 * This is the one telemetry file that reads process.env, like a composition root.
 */
import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
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
      // The request span is named by the route template Express matched (never the raw path, whose ids
      // would make every span name unique), set as the response finishes.
      applyCustomAttributesOnSpan: (span, request) => {
        const route = expressRoute(request);
        if (route === undefined) return;
        span.setAttribute('http.route', route);
        span.updateName(`${(request as { method?: string }).method ?? 'GET'} ${route}`);
      },
    }),
    // Calls between our services go through node:http (seen above); fetch (undici) serves the rest (JWKS, MCP).
    new UndiciInstrumentation(),
    // No Express instrumentation: even with its middleware and router layers ignored it wrapped every layer a
    // request walks through (some twenty on a search) for one span per route handler, about 0.2 ms of CPU per
    // search in the gateway's profile; the request span above carries the route instead.
    new PgInstrumentation(),
    new IORedisInstrumentation(),
  ],
});
sdk.start();

/** The route template of a request Express has routed (`/v1/collections/:name`), read when it finishes. */
function expressRoute(request: unknown): string | undefined {
  const routed = request as { route?: { path?: unknown }; baseUrl?: unknown };
  if (routed.route?.path === undefined) return undefined;
  return `${typeof routed.baseUrl === 'string' ? routed.baseUrl : ''}${String(routed.route.path)}`;
}
