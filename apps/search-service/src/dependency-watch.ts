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
  /**
   * Runs a real request to the dependency, counted as in flight until it settles and as an answer when it
   * succeeds. While requests are in flight, an unanswered probe is read as a queue until nothing at all has
   * been answered for `stallMs`: a dependency that shares its CPUs among many long searches (Milvus Lite at
   * 100k rows and 32 clients) can go seconds between answers without being hung.
   */
  track<T>(request: () => Promise<T>): Promise<T>;
  stop(): void;
}

export interface DependencyWatchOptions {
  name: string;
  check: () => Promise<void>;
  /** How often to probe. */
  intervalMs: number;
  /** A probe that has not answered after this long counts as a failure (a hung dependency). */
  timeoutMs: number;
  /**
   * With requests in flight, how long without any answer (theirs or a probe's) counts as a hang. Defaults to
   * five probe timeouts.
   */
  stallMs?: number;
}

export function createDependencyWatch(options: DependencyWatchOptions): DependencyWatch {
  let problem: string | undefined;
  let probing: Promise<void> | undefined;
  let lastAnswerAt = Number.NEGATIVE_INFINITY;
  let inFlight = 0;
  const stallMs = options.stallMs ?? 5 * options.timeoutMs;

  /** An unanswered probe: a hang, unless requests are in flight and something was answered recently. */
  function queuedNotHung(startedAt: number): boolean {
    if (lastAnswerAt >= startedAt) return true;
    return inFlight > 0 && performance.now() - lastAnswerAt < stallMs;
  }

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
        lastAnswerAt = performance.now();
        problem = undefined;
      } catch (error) {
        if (queuedNotHung(startedAt)) problem = undefined;
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
    async track(request) {
      inFlight++;
      try {
        const answer = await request();
        lastAnswerAt = performance.now();
        return answer;
      } finally {
        inFlight--;
      }
    },
    stop: () => clearInterval(interval),
  };
}

/** The store, its searches reported to the watch as answers of the dependency when they succeed. */
export function reportingAnswers(store: MilvusStore, watch: DependencyWatch): MilvusStore {
  return {
    ...store,
    searchSignals: (query) => watch.track(() => store.searchSignals(query)),
  };
}
