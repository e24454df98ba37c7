import { AppError } from '@rag/contracts/app-error';
import type { MilvusStore } from '@rag/vector-store/milvus-store';

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
  /**
   * Records that a real request to the dependency was answered. A busy dependency that serves one request at a
   * time (Milvus Lite) queues the probe behind the searches: a probe that times out while answers keep coming
   * is a queue, not a hang, and must not turn every search into a 503.
   */
  answered(): void;
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
  let lastAnswerAt = Number.NEGATIVE_INFINITY;

  function probe(): Promise<void> {
    probing ??= (async () => {
      const startedAt = performance.now();
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
        if (lastAnswerAt >= startedAt) problem = undefined;
        else problem = error instanceof Error ? error.message : String(error);
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
    answered() {
      lastAnswerAt = performance.now();
    },
    stop: () => clearInterval(interval),
  };
}

/** The store, its searches reported to the watch as answers of the dependency when they succeed. */
export function reportingAnswers(store: MilvusStore, watch: DependencyWatch): MilvusStore {
  return {
    ...store,
    async searchSignals(query) {
      const hits = await store.searchSignals(query);
      watch.answered();
      return hits;
    },
  };
}
