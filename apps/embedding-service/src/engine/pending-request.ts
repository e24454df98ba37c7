import { AppError } from '@rag/contracts/app-error';
import type { Embedding, OutputKind } from '@rag/contracts/embedding-api';

export interface SubmittedRequest {
  /** Token ids per text, already prefixed, tokenised and truncated. */
  texts: readonly (readonly number[])[];
  outputs: readonly OutputKind[];
  /** Aborted when the caller went away: its texts leave the queue and it rejects. */
  signal?: AbortSignal | undefined;
  /** Absolute time (performance.now() ms) by which the request must be answered, else 504 (timeout). */
  deadline?: number | undefined;
  /**
   * A search waiting on its query (`kind: 'query'`): served ahead of bulk texts (passages being ingested), in
   * batches of its own, so a search does not wait behind an ingest's queue.
   */
  interactive?: boolean | undefined;
}

export interface RequestTimings {
  /** From submit() until its last text was handed to a worker. */
  queueSeconds: number;
  /** Summed inference time of the batches its texts ran in. */
  inferenceSeconds: number;
}

export interface RequestResult {
  embeddings: Embedding[];
  timings: RequestTimings;
}

/** One submitted request while its texts wait and run: the results so far and how to answer it. */
export interface PendingRequest {
  results: (Embedding | undefined)[];
  remaining: number;
  settled: boolean;
  submittedAt: number;
  dispatchedAt: number;
  interactive: boolean;
  inferenceSeconds: number;
  resolve(result: RequestResult): void;
  reject(error: AppError): void;
  /** Removes the abort listener and the deadline timer. */
  cleanup(): void;
}

/** One text of a request in the scheduler's queue. */
export interface QueuedText {
  request: PendingRequest;
  index: number;
  ids: readonly number[];
  tokenCount: number;
  outputs: readonly OutputKind[];
}

/**
 * A pending request and its queued texts. `cancel` is called when the caller goes away (signal) or the deadline
 * passes, with the error to reject it with; `queuedTexts` tells the timeout error how long the queue was.
 */
export function openRequest(
  request: SubmittedRequest,
  answer: { resolve(result: RequestResult): void; reject(error: AppError): void },
  cancel: (pending: PendingRequest, error: AppError) => void,
  queuedTexts: () => number,
): { pending: PendingRequest; texts: QueuedText[] } {
  const now = performance.now();
  const pending: PendingRequest = {
    results: new Array(request.texts.length),
    remaining: request.texts.length,
    settled: false,
    submittedAt: now,
    dispatchedAt: now,
    interactive: request.interactive === true,
    inferenceSeconds: 0,
    resolve: answer.resolve,
    reject: answer.reject,
    cleanup: () => undefined,
  };
  const texts = request.texts.map(
    (ids, index): QueuedText => ({
      request: pending,
      index,
      ids,
      tokenCount: ids.length,
      outputs: request.outputs,
    }),
  );
  const onAbort = () => cancel(pending, clientGoneError());
  request.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (request.deadline !== undefined) {
    const budget = Math.max(0, request.deadline - now);
    timer = setTimeout(() => {
      cancel(
        pending,
        new AppError(
          'timeout',
          `The request was not answered within its deadline of ${Math.round(budget)} ms`,
          {
            context: { deadlineMs: Math.round(budget), queuedTexts: queuedTexts() },
          },
        ),
      );
    }, budget);
  }
  pending.cleanup = () => {
    request.signal?.removeEventListener('abort', onAbort);
    if (timer !== undefined) clearTimeout(timer);
  };
  return { pending, texts };
}

/** Answers a request once: later calls (a deadline after the result, a result after the abort) do nothing. */
export function settle(request: PendingRequest, finish: () => void): void {
  if (request.settled) return;
  request.settled = true;
  request.cleanup();
  finish();
}

/** Files a batch's embeddings into their requests and answers every request whose last text this was. */
export function deliver(
  batch: readonly QueuedText[],
  embeddings: readonly Embedding[],
  seconds: number,
): void {
  const requests = new Set<PendingRequest>();
  batch.forEach((text, i) => {
    const request = text.request;
    if (request.settled) return;
    requests.add(request);
    request.results[text.index] = embeddings[i];
    request.remaining -= 1;
  });
  for (const request of requests) {
    request.inferenceSeconds += seconds;
    if (request.remaining > 0) continue;
    settle(request, () =>
      request.resolve({
        embeddings: request.results as Embedding[],
        timings: {
          queueSeconds: (request.dispatchedAt - request.submittedAt) / 1000,
          inferenceSeconds: request.inferenceSeconds,
        },
      }),
    );
  }
}

export function clientGoneError(): AppError {
  return new AppError('bad_request', 'The client closed the request before it was answered', {
    context: { reason: 'client_closed' },
  });
}
