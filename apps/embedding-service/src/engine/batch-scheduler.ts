import { AppError } from '@rag/contracts/app-error';
import type { Embedding } from '@rag/contracts/embedding-api';
import { type BatchLimits, planBatches } from './batch-planner.js';
import type { BatchRow } from './model-runner.js';
import {
  clientGoneError,
  deliver,
  openRequest,
  type PendingRequest,
  type QueuedText,
  type RequestResult,
  type SubmittedRequest,
  settle,
} from './pending-request.js';

/** Something that runs one padded batch: an inference worker with its own session. */
export interface BatchWorker {
  run(rows: BatchRow[]): Promise<Embedding[]>;
}

export interface SchedulerOptions extends BatchLimits {
  /** Texts that may wait for a worker; beyond it, submit() refuses with 429 (rate_limited). */
  maxQueuedTexts: number;
  /** See defaultSoloQuietMs. */
  soloQuietMs?: number | undefined;
  /**
   * How long a worker that could start a batch that is not yet full waits for more texts, in ms. 0 starts at once;
   * a few ms trade a little latency for fuller batches when requests trickle in one by one.
   */
  batchWaitMs: number;
}

export interface SchedulerEvents {
  /**
   * A batch was formed and handed to a worker: its texts and padded tokens, the texts left waiting, and whether it
   * went to a solo session (all cores: the solo worker, or the session beside the pool) rather than to the pool.
   */
  batchStarted?(size: number, paddedTokens: number, queueSize: number, solo: boolean): void;
  /** A batch ran: its real (unpadded) tokens and how long inference took. */
  batchFinished?(tokens: number, seconds: number): void;
}

/**
 * The sessions beside the pool, both optional (CUDA, or a single-worker pool, have none).
 * - solo: a session with all cores, for a lone batch.
 * - beside: a session whose threads sleep when idle, for search queries while every pool worker runs a bulk batch.
 *   It is one of the solo worker's sessions, so the two never run at once.
 */
export interface SoloSessions {
  solo?: BatchWorker | undefined;
  beside?: BatchWorker | undefined;
}

/** Where a batch runs: a pool worker, the solo worker, or the session beside the pool. */
type Placement = 'pool' | 'solo' | 'beside';

/** The longest a free worker waits for its fair share of the queue to arrive while other workers run. */
export const maxShareWaitMs = 250;

/**
 * How long the service must have held at most one text (queued or running) before a lone text goes to the solo
 * worker again. Under load the queue empties now and then between rounds of requests; sending the first text of
 * the next round to the solo session would make the others wait behind it.
 */
export const defaultSoloQuietMs = 1000;

/**
 * The dynamic batcher. Texts of all requests wait in one queue; whenever a worker is free, the queue is planned
 * into length-sorted batches under the token budget and the batch holding the oldest text goes to that worker.
 * Sorting by length cuts padding; always serving the oldest text means no text waits behind newer ones forever.
 * Search queries (interactive requests) are the exception: they go ahead of bulk texts, in batches of their own,
 * and when every pool worker is running a bulk batch they start at once on the session beside the pool instead of
 * waiting for one to finish (a bulk batch of 1024 padded tokens takes a single-threaded session a few hundred ms on
 * CPU; a query's batch is a few dozen tokens). The cores are oversubscribed while it runs, which slows the bulk
 * batches by about the query's own cost: a search answered during an ingest is worth that.
 *
 * Two rules make both ends of the load fast and keep waiting times even:
 * - Solo: with nothing running, fewer texts waiting than the pool has workers, and never more than one text at a
 *   time in the last second (one client, one text at a time), the batch goes to the solo worker, a session whose
 *   threads cover all cores, instead of one single-threaded pool worker leaving the other cores idle. Nothing else
 *   starts while it runs.
 * - Fair shares: the texts waiting and running are shared out evenly among the pool's workers. A free worker
 *   takes at most its share (queued + running) / workers, and while other workers run it starts only once its
 *   share has arrived, or the oldest text has waited a fifth of a running batch's expected time (at most
 *   maxShareWaitMs). Without this, a worker freed just after another took the whole queue would take texts one
 *   by one as they arrive: those texts would be served at once and the others at the pace of the big batch.
 */
export class BatchScheduler {
  /** In arrival order (removals keep it), so queue[0] is always the oldest waiting text. */
  private queue: QueuedText[] = [];
  private readonly idle: BatchWorker[];
  /** Batches on the pool's workers now: their texts and tokens, and whether they are search texts. */
  private readonly running = new Map<BatchWorker, { texts: number; tokens: number; interactive: boolean }>();
  private waitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Recent tokens per second of one worker's inference, for Retry-After. */
  private throughput = 0;
  private readonly workerCount: number;
  private soloBusy = false;
  private besideBusy = false;
  private readonly solo: BatchWorker | undefined;
  private readonly beside: BatchWorker | undefined;
  /** When the service last held two or more texts (queued or running). */
  private lastCrowdedAt = Number.NEGATIVE_INFINITY;

  constructor(
    workers: readonly BatchWorker[],
    private readonly options: SchedulerOptions,
    private readonly events: SchedulerEvents = {},
    sessions: SoloSessions = {},
  ) {
    if (workers.length === 0) throw new Error('BatchScheduler needs at least one worker');
    this.solo = sessions.solo;
    this.beside = sessions.beside;
    this.idle = [...workers];
    this.workerCount = workers.length;
  }

  get queuedTexts(): number {
    return this.queue.length;
  }

  get queuedTokens(): number {
    return this.queue.reduce((sum, text) => sum + text.tokenCount, 0);
  }

  /** Seconds until the queue has likely drained, for a Retry-After header (at least 1). */
  retryAfterSeconds(): number {
    if (this.throughput <= 0) return 1;
    return Math.min(60, Math.max(1, Math.ceil(this.queuedTokens / (this.throughput * this.workerCount))));
  }

  /** Whether `count` more texts fit in the queue now. */
  hasRoomFor(count: number, reserved = 0): boolean {
    return this.queue.length + reserved + count <= this.options.maxQueuedTexts;
  }

  submit(request: SubmittedRequest): Promise<RequestResult> {
    if (this.closed) return Promise.reject(new AppError('shutting_down', 'The embedder is closed'));
    if (request.texts.length === 0) {
      return Promise.resolve({ embeddings: [], timings: { queueSeconds: 0, inferenceSeconds: 0 } });
    }
    if (!this.hasRoomFor(request.texts.length)) {
      return Promise.reject(this.queueFullError(request.texts.length));
    }
    if (request.signal?.aborted) return Promise.reject(clientGoneError());

    return new Promise((resolve, reject) => {
      const { texts } = openRequest(
        request,
        { resolve, reject },
        (pending, error) => this.cancel(pending, error),
        () => this.queue.length,
      );
      this.queue.push(...texts);
      this.noteCrowding();
      this.pump();
    });
  }

  /** Refuses new requests, fails the queued ones, and lets running batches finish. */
  close(): void {
    this.closed = true;
    clearTimeout(this.waitTimer);
    const requests = new Set(this.queue.map((text) => text.request));
    this.queue = [];
    for (const request of requests) {
      settle(request, () => request.reject(new AppError('shutting_down', 'The embedder is closing')));
    }
  }

  private queueFullError(count: number): AppError {
    return new AppError(
      'rate_limited',
      `The embedding queue is full (${this.queue.length} of ${this.options.maxQueuedTexts} texts waiting); ` +
        `retry in ${this.retryAfterSeconds()} s`,
      {
        context: {
          retryAfterSeconds: this.retryAfterSeconds(),
          queuedTexts: this.queue.length,
          texts: count,
        },
      },
    );
  }

  /** Takes a request's texts out of the queue and rejects it; batches already running finish unseen. */
  private cancel(request: PendingRequest, error: AppError): void {
    if (request.settled) return;
    this.queue = this.queue.filter((text) => text.request !== request);
    settle(request, () => request.reject(error));
  }

  private noteCrowding(): void {
    let held = this.queue.length + (this.soloBusy || this.besideBusy ? 1 : 0);
    for (const batch of this.running.values()) held += batch.texts;
    if (held >= 2) this.lastCrowdedAt = performance.now();
  }

  private pump(): void {
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    while (this.queue.length > 0 && !this.soloBusy) {
      const quiet =
        performance.now() - this.lastCrowdedAt >= (this.options.soloQuietMs ?? defaultSoloQuietMs);
      if (
        this.solo !== undefined &&
        this.running.size === 0 &&
        !this.besideBusy &&
        this.queue.length < this.workerCount &&
        quiet
      ) {
        const batch = this.nextBatch(this.options.maxBatchSize, 0);
        if (batch === undefined) return; // waiting for the batch to fill (batchWaitMs)
        void this.runOn(this.solo, batch, 'solo');
        return;
      }
      let runningTexts = 0;
      for (const batch of this.running.values()) runningTexts += batch.texts;
      if (this.idle.length === 0) {
        // Beside the pool only while every worker runs bulk texts: a running search batch ends soon, and under a
        // load of searches alone a third session would only oversubscribe the cores.
        if (
          this.beside === undefined ||
          this.besideBusy ||
          [...this.running.values()].some((running) => running.interactive) ||
          !this.queue.some((text) => text.request.interactive)
        ) {
          return;
        }
        const batch = this.nextBatch(this.options.maxBatchSize, runningTexts);
        if (batch === undefined) return; // waiting for the batch to fill (batchWaitMs)
        void this.runOn(this.beside, batch, 'beside');
        continue;
      }
      const share = Math.ceil((this.queue.length + runningTexts) / this.workerCount);
      const batch = this.nextBatch(Math.min(this.options.maxBatchSize, share), runningTexts);
      if (batch === undefined) return; // waiting for the batch to fill, or for its share to arrive
      void this.runOn(this.idle.shift()!, batch, 'pool');
    }
  }

  /**
   * The length-homogeneous batch of at most `size` texts that holds the oldest queued text, removed from the queue;
   * undefined (and a timer set) when it should wait for more texts first. Interactive texts (search queries) come
   * first: while any wait, the batch is made of them alone and holds the oldest of them, and it starts at once.
   * A query then waits at most for one running batch (capped by maxBatchTokens), not for an ingest's whole queue.
   */
  private nextBatch(size: number, runningTexts: number): QueuedText[] | undefined {
    const interactive = this.queue.filter((text) => text.request.interactive);
    const candidates = interactive.length > 0 ? interactive : this.queue;
    const oldest = candidates[0]!;
    const limits = {
      maxBatchTokens: this.options.maxBatchTokens,
      maxBatchSize: size,
      maxPaddingRatio: this.options.maxPaddingRatio,
    };
    const batch = planBatches(candidates, limits).find((candidate) => candidate.includes(oldest))!;
    // Full: the limits cut it (texts were left over), or one more text like its longest would not fit.
    const full =
      batch.length < this.queue.length ||
      batch.length >= this.options.maxBatchSize ||
      (batch.length + 1) * Math.max(...batch.map((text) => text.tokenCount)) > this.options.maxBatchTokens;
    const waited = performance.now() - oldest.request.submittedAt;
    let wait = 0;
    if (!full && this.options.batchWaitMs > 0) wait = this.options.batchWaitMs - waited;
    // Its share, (queued + running) / workers rounded down, has not arrived yet.
    if (
      interactive.length === 0 &&
      this.queue.length < Math.floor((this.queue.length + runningTexts) / this.workerCount)
    ) {
      wait = Math.max(wait, this.shareWaitMs() - waited);
    }
    if (wait > 0) {
      this.waitTimer = setTimeout(() => this.pump(), Math.ceil(wait));
      return undefined;
    }
    const taken = new Set(batch);
    this.queue = this.queue.filter((text) => !taken.has(text));
    return batch;
  }

  /** How long a free worker waits for its share: a fifth of the shortest running batch's expected time. */
  private shareWaitMs(): number {
    if (this.throughput <= 0) return 20;
    let shortest = Number.POSITIVE_INFINITY;
    for (const batch of this.running.values()) shortest = Math.min(shortest, batch.tokens);
    return Math.min(maxShareWaitMs, (200 * shortest) / this.throughput);
  }

  private async runOn(worker: BatchWorker, batch: QueuedText[], placement: Placement): Promise<void> {
    const now = performance.now();
    const paddedTokens = batch.length * Math.max(...batch.map((text) => text.tokenCount));
    if (placement === 'solo') this.soloBusy = true;
    else if (placement === 'beside') this.besideBusy = true;
    else {
      const tokens = batch.reduce((sum, text) => sum + text.tokenCount, 0);
      // A batch is all search texts or none (nextBatch never mixes them).
      this.running.set(worker, { texts: batch.length, tokens, interactive: batch[0]!.request.interactive });
    }
    this.events.batchStarted?.(batch.length, paddedTokens, this.queue.length, placement !== 'pool');
    for (const text of batch) {
      text.request.dispatchedAt = Math.max(text.request.dispatchedAt, now);
    }
    try {
      await this.runIsolated(worker, batch, placement === 'pool');
    } finally {
      if (placement === 'solo') this.soloBusy = false;
      else if (placement === 'beside') this.besideBusy = false;
      else {
        this.running.delete(worker);
        this.idle.push(worker);
      }
      this.pump();
    }
  }

  /** Runs a batch; if it fails and holds several requests, reruns each alone so that one bad text fails only its own. */
  private async runIsolated(worker: BatchWorker, batch: QueuedText[], onPool: boolean): Promise<void> {
    const live = batch.filter((text) => !text.request.settled);
    if (live.length === 0) return;
    const started = performance.now();
    try {
      const embeddings = await worker.run(live.map((text) => ({ ids: text.ids, outputs: text.outputs })));
      const seconds = (performance.now() - started) / 1000;
      const tokens = live.reduce((sum, text) => sum + text.tokenCount, 0);
      // One pool worker's rate; the solo sessions' (all cores) would overstate it.
      if (onPool) {
        this.throughput =
          this.throughput === 0 ? tokens / seconds : 0.8 * this.throughput + (0.2 * tokens) / seconds;
      }
      this.events.batchFinished?.(tokens, seconds);
      deliver(live, embeddings, seconds);
    } catch (error) {
      const requests = [...new Set(live.map((text) => text.request))];
      if (requests.length === 1) {
        const request = requests[0]!;
        this.cancel(request, error instanceof AppError ? error : new AppError('model_error', String(error)));
        return;
      }
      for (const request of requests) {
        await this.runIsolated(
          worker,
          live.filter((text) => text.request === request),
          onPool,
        );
      }
    }
  }
}
