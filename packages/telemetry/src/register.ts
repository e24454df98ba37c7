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
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  NoopSpanProcessor,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { isProbePath } from './probe-paths.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const exportEndpoint =
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'rag-system',
  // Without a collector nothing is recorded, since nothing would read it: a request's span is a non-recording
  // one, which still carries a trace id (the caller's, or a new one) into the logs and on to the next service
  // and the queue, marked not sampled. A caller's decision to sample is passed on as it came (ParentBased),
  // so a service further down that does export still records the traces its callers sample; only those
  // requests pay for recording here. The tracer provider must still exist (a span processor registers it):
  // the API's no-op tracer would give a request without a caller's trace no id at all. Recording every span
  // only to drop it cost about a fifth of the gateway's CPU.
  ...(exportEndpoint
    ? { spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] }
    : {
        sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        spanProcessors: [new NoopSpanProcessor()],
      }),
  // Metrics are Prometheus's (prom-client, on the management port) and logs are pino's on stdout. Left
  // unset, the SDK would also record every request into OpenTelemetry histograms and set up OTLP metric and
  // log exporters towards an endpoint that is not there; it does so only when the OTEL_METRICS_EXPORTER or
  // OTEL_LOGS_EXPORTER variables ask for it.
  ...(process.env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
  ...(process.env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
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
    // PostgreSQL and Redis calls only ever get leaf spans, which pass no context on: without a collector they
    // would be non-recording spans nobody reads, made for every query and command (two queries and four Redis
    // commands per search in the search service, three commands in the gateway), so they are left out.
    ...(exportEndpoint ? [new PgInstrumentation(), new IORedisInstrumentation()] : []),
  ],
});
sdk.start();

/** The route template of a request Express has routed (`/v1/collections/:name`), read when it finishes. */
function expressRoute(request: unknown): string | undefined {
  const routed = request as { route?: { path?: unknown }; baseUrl?: unknown };
  if (routed.route?.path === undefined) return undefined;
  return `${typeof routed.baseUrl === 'string' ? routed.baseUrl : ''}${String(routed.route.path)}`;
}
