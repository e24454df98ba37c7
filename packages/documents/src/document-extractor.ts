import type { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode, errorCodes } from '@rag/contracts/app-error';
import { startWorkerThread } from '@rag/contracts/worker-thread';
import { checkInputSize } from './extract-in-process.js';
import type { ExtractJob, ExtractOutcome } from './extract-worker-protocol.js';
import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded, resolveExtractionLimits } from './extraction-limits.js';

export interface DocumentExtractorOptions {
  /** Documents parsed at the same time, one thread each. */
  threads?: number;
  /** Defaults for every document; a call can override them (a different `parserHeapMb` gets its own thread). */
  limits?: Partial<ExtractionLimits>;
  /** A thread is replaced after this many documents, so whatever a parser caches cannot grow without end. */
  documentsPerThread?: number;
}

export interface DocumentExtractor {
  extract(
    bytes: Uint8Array,
    hints?: DocumentHints,
    limits?: Partial<ExtractionLimits>,
  ): Promise<ExtractedDocument>;
  /** Ends the threads; documents in progress fail. */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  heapMb: number;
  documents: number;
  busy: boolean;
}

interface Pending {
  job: ExtractJob;
  resolve: (document: ExtractedDocument) => void;
  reject: (error: unknown) => void;
}

/**
 * Parses documents in worker threads. pdf.js, mammoth and the XML parser are synchronous for long stretches, so a
 * timer in the calling thread could not interrupt them, while `worker.terminate()` stops a thread in the middle of
 * any loop: a document that runs past `parseTimeoutMs` has its thread ended and replaced. Each thread has its own
 * V8 heap limit (`parserHeapMb`), so a file that makes a parser allocate without bound kills that thread, not the
 * service. (Inflated ZIP data lives in ArrayBuffers outside the V8 heap; the decompression budget bounds that.)
 * Threads are kept between documents, since loading the parsers costs far more than parsing a typical file.
 */
export function createDocumentExtractor(options: DocumentExtractorOptions = {}): DocumentExtractor {
  const defaults = resolveExtractionLimits(options.limits);
  const maxThreads = Math.max(1, options.threads ?? 1);
  const documentsPerThread = Math.max(1, options.documentsPerThread ?? 500);
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  const release = (slot: Slot, reuse: boolean) => {
    slot.busy = false;
    if (!reuse || slot.documents >= documentsPerThread) {
      slots.splice(slots.indexOf(slot), 1);
      void slot.worker.terminate();
    }
    pump();
  };

  const run = (slot: Slot, pending: Pending) => {
    slot.busy = true;
    slot.documents++;
    const { job } = pending;
    let done = false;
    const finish = (reuse: boolean, settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      slot.worker.off('message', onMessage);
      slot.worker.off('error', onError);
      slot.worker.off('exit', onExit);
      settle();
      release(slot, reuse);
    };
    const onMessage = (outcome: ExtractOutcome) => {
      if (outcome.id !== job.id) return;
      finish(true, () =>
        outcome.ok ? pending.resolve(outcome.document) : pending.reject(fromOutcome(outcome.error)),
      );
    };
    const onError = (error: Error & { code?: string }) =>
      finish(false, () =>
        pending.reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? limitExceeded('parserHeapMb', slot.heapMb)
            : new AppError('internal', `document extraction failed: ${error.message}`, { cause: error }),
        ),
      );
    const onExit = (exitCode: number) =>
      finish(false, () =>
        pending.reject(
          new AppError('internal', `the extraction thread exited with code ${exitCode} during a document`),
        ),
      );
    const timer = setTimeout(
      () => finish(false, () => pending.reject(limitExceeded('parseTimeoutMs', job.limits.parseTimeoutMs))),
      job.limits.parseTimeoutMs,
    );
    slot.worker.on('message', onMessage);
    slot.worker.once('error', onError);
    slot.worker.once('exit', onExit);
    // A copy: the caller keeps its buffer, the thread gets its own.
    slot.worker.postMessage(job);
  };

  const startSlot = (heapMb: number): Slot => {
    const slot: Slot = { worker: spawnExtractWorker(heapMb), heapMb, documents: 0, busy: false };
    // An idle thread neither keeps the process alive nor, if it dies, takes the process with it: a document in
    // progress has its own listeners and its timer keeps the process up; a dead idle thread is just forgotten.
    slot.worker.unref();
    slot.worker.on('error', () => {});
    slot.worker.once('exit', () => {
      const index = slots.indexOf(slot);
      if (index >= 0 && !slot.busy) slots.splice(index, 1);
    });
    return slot;
  };

  const pump = () => {
    for (let index = 0; index < queue.length; ) {
      const pending = queue[index] as Pending;
      const heapMb = pending.job.limits.parserHeapMb;
      let slot = slots.find((candidate) => !candidate.busy && candidate.heapMb === heapMb);
      if (!slot && slots.length >= maxThreads) {
        // Full: make room by retiring an idle thread with another heap size, else wait.
        const idle = slots.find((candidate) => !candidate.busy);
        if (!idle) return;
        slots.splice(slots.indexOf(idle), 1);
        void idle.worker.terminate();
      }
      if (!slot) {
        slot = startSlot(heapMb);
        slots.push(slot);
      }
      queue.splice(index, 1);
      run(slot, pending);
    }
  };

  return {
    extract(bytes, hints = {}, limitOverrides = {}) {
      if (closed) return Promise.reject(new AppError('shutting_down', 'the document extractor is closed'));
      let limits: ExtractionLimits;
      try {
        limits = resolveExtractionLimits({ ...defaults, ...limitOverrides });
        checkInputSize(bytes, hints, limits);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<ExtractedDocument>((resolve, reject) => {
        queue.push({
          job: { id: nextId++, bytes: bytes.slice(), hints: { ...hints }, limits },
          resolve,
          reject,
        });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0))
        pending.reject(new AppError('shutting_down', 'the document extractor is closed'));
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}

function fromOutcome(error: Extract<ExtractOutcome, { ok: false }>['error']): AppError {
  const code: ErrorCode = error.code in errorCodes ? (error.code as ErrorCode) : 'internal';
  return new AppError(code, error.message, { retryable: error.retryable, context: error.context });
}

/** The extraction worker (extract-worker.ts) in a thread of its own, with its own heap limit. */
function spawnExtractWorker(heapMb: number): Worker {
  return startWorkerThread(import.meta.url, 'extract-worker', {
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
}
