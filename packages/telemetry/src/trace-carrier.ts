import { type Context, context, propagation } from '@opentelemetry/api';

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
