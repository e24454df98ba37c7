import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const packageDir = join(import.meta.dirname, '..');

/** What a process started as the services are (`--import` of the built register) sees of OpenTelemetry. */
async function telemetryOf(env: Record<string, string>) {
  const probe = `
    import { createRequire } from 'node:module';
    import { context, metrics, propagation, trace } from '@opentelemetry/api';
    // The clients as the services load them (from the packages that depend on them), after the register.
    const pg = createRequire(${JSON.stringify(join(packageDir, '../db/package.json'))})('pg');
    const ioredis = createRequire(${JSON.stringify(join(packageDir, '../redis/package.json'))})('ioredis');
    const span = trace.getTracer('probe').startSpan('request');
    const carrier = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    const recording = span.isRecording();
    span.end();
    // A request whose caller sampled its trace (traceparent flag 01).
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true };
    const child = trace.getTracer('probe').startSpan('request', {}, trace.setSpanContext(context.active(), caller));
    const childCarrier = {};
    propagation.inject(trace.setSpan(context.active(), child), childCarrier);
    child.end();
    console.log(JSON.stringify({
      recording,
      spanContext: span.spanContext(),
      carrier,
      childCarrier,
      meterProvider: metrics.getMeterProvider().constructor.name,
      instrumented: {
        pg: pg.Client.prototype.query.__wrapped === true,
        ioredis: (ioredis.Redis ?? ioredis).prototype.sendCommand.__wrapped === true,
      },
    }));
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', './dist/register.js', '--input-type=module', '-e', probe],
    { cwd: packageDir, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

describe('telemetry registration', () => {
  it('records nothing without a collector, yet gives each span a trace id that is passed on', async () => {
    const seen = await telemetryOf({});
    expect(seen.recording).toBe(false);
    expect(seen.spanContext.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.spanContext.traceId).not.toBe('0'.repeat(32));
    expect(seen.carrier.traceparent).toBe(`00-${seen.spanContext.traceId}-${seen.spanContext.spanId}-00`);
    // A caller's decision to sample goes on as it came, for services further down that do export.
    expect(seen.childCarrier.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    // Metrics are Prometheus's: no OpenTelemetry meter provider records requests for an absent collector.
    expect(seen.meterProvider).not.toBe('MeterProvider');
    // Nor are PostgreSQL queries and Redis commands wrapped for spans nobody records.
    expect(seen.instrumented).toEqual({ pg: false, ioredis: false });
  });

  it('records and samples spans when a collector is configured', async () => {
    const seen = await telemetryOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(seen.recording).toBe(true);
    expect(seen.carrier.traceparent).toMatch(/-01$/);
    expect(seen.meterProvider).not.toBe('MeterProvider');
    expect(seen.instrumented).toEqual({ pg: true, ioredis: true });
  });

  it('sets up OpenTelemetry metrics only when OTEL_METRICS_EXPORTER asks for them', async () => {
    const seen = await telemetryOf({ OTEL_METRICS_EXPORTER: 'console' });
    expect(seen.meterProvider).toBe('MeterProvider');
  });
});
