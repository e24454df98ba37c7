import { type Context, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * W3C trace context carried inside queue jobs, so that a trace continues from the HTTP request that
 * enqueued a job into the worker that runs it.
 */
export type TraceCarrier = Record<string, string>;

export function injectTraceCarrier(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}

/**
 * Runs queue work in a consumer span that continues the producer's trace, so that logs and outgoing
 * calls made while handling the job belong to the request that enqueued it.
 */
export async function withConsumerSpan<T>(
  name: string,
  carrier: TraceCarrier | undefined,
  attributes: Record<string, string | number>,
  work: () => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer('@rag/telemetry');
  return tracer.startActiveSpan(
    name,
    { kind: SpanKind.CONSUMER, attributes },
    contextFromCarrier(carrier),
    async (span) => {
      try {
        return await work();
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
