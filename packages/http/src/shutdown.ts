import type { Logger } from '@rag/telemetry/logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

/**
 * Registers SIGTERM/SIGINT once and runs the steps in order (stop accepting, drain, close clients, flush
 * telemetry). A step that fails is logged and the rest still run; a second signal exits at once.
 */
export function onShutdownSignal(logger: Logger, steps: ShutdownStep[], exit = process.exit): void {
  let started = false;
  const handler = async (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn({ signal }, 'second signal, exiting now');
      exit(1);
      return;
    }
    started = true;
    logger.info({ signal }, 'shutting down');
    let failed = false;
    for (const step of steps) {
      try {
        await step.run();
      } catch (error) {
        failed = true;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    logger.info('shutdown complete');
    exit(failed ? 1 : 0);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * The first shutdown step of every service: readiness turns 503 at once, and the listener stays open for
 * `delayMs` so load balancers stop routing here before connections are refused.
 */
export function failReadiness(lifecycle: { shuttingDown: boolean }, delayMs: number): ShutdownStep {
  return {
    name: 'fail readiness',
    run: async () => {
      lifecycle.shuttingDown = true;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    },
  };
}
