import { AppError } from '@rag/contracts/app-error';

/**
 * Probes a dependency in the background so that requests can fail fast while it is known to be down. A
 * hung dependency (a stopped Milvus) answers nothing: every search would wait for its own timeout, and the
 * caller's, before failing. Once a probe has failed or timed out, `assertUp` throws a retryable 503 at once,
 * until a probe succeeds again.
 */
export interface DependencyWatch {
  /** Throws dependency_unavailable (503, with Retry-After) while the last probe failed. */
  assertUp(): void;
  /** The last probe's failure, or undefined while the dependency is up. */
  problem(): string | undefined;
  /** Probes now (the background probe calls this); resolves once the answer is recorded. */
  probe(): Promise<void>;
  stop(): void;
}

export interface DependencyWatchOptions {
  name: string;
  check: () => Promise<void>;
  /** How often to probe. */
  intervalMs: number;
  /** A probe that has not answered after this long counts as a failure (a hung dependency). */
  timeoutMs: number;
}

export function createDependencyWatch(options: DependencyWatchOptions): DependencyWatch {
  let problem: string | undefined;
  let probing: Promise<void> | undefined;

  function probe(): Promise<void> {
    probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      });
      try {
        await Promise.race([options.check(), timedOut]);
        problem = undefined;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      } finally {
        clearTimeout(timer);
        probing = undefined;
      }
    })();
    return probing;
  }

  const interval = setInterval(() => void probe(), options.intervalMs);
  interval.unref();

  return {
    assertUp() {
      if (problem === undefined) return;
      throw new AppError('dependency_unavailable', `${options.name} is unavailable: ${problem}`, {
        retryable: true,
        context: {
          dependency: options.name,
          retryAfterSeconds: Math.max(1, Math.ceil(options.intervalMs / 1000)),
        },
      });
    },
    problem: () => problem,
    probe,
    stop: () => clearInterval(interval),
  };
}
