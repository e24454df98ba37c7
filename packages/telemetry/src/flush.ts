import { trace } from '@opentelemetry/api';

interface FlushableProvider {
  forceFlush?: () => Promise<void>;
  shutdown?: () => Promise<void>;
  getDelegate?: () => FlushableProvider;
}

/** Flushes pending spans; part of every service's shutdown. A no-op when telemetry was not registered. */
export async function flushTelemetry(): Promise<void> {
  const global = trace.getTracerProvider() as FlushableProvider;
  const provider = global.getDelegate?.() ?? global;
  await provider.shutdown?.();
}
