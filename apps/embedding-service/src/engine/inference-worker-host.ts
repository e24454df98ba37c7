import type { Worker } from 'node:worker_threads';
import { AppError } from '@rag/contracts/app-error';
import type { Embedding } from '@rag/contracts/embedding-api';
import type { BatchRow } from './model-runner.js';
import { spawnInferenceWorker } from './spawn-inference-worker.js';
import type { FromWorkerMessage, InferenceWorkerConfig, ToWorkerMessage } from './worker-protocol.js';

interface Waiter {
  resolve: (embeddings: Embedding[]) => void;
  reject: (error: AppError) => void;
}

/**
 * The main-thread side of one inference worker: matches answers to batches by id, and if the worker thread dies
 * (a native crash, out of memory) fails only the batch it had and starts a fresh worker for the next.
 */
export class InferenceWorkerHost {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;

  constructor(
    private readonly config: InferenceWorkerConfig,
    /** Called with each batch's time inside the worker thread, in seconds (the rest of run() is message passing). */
    private readonly onRan?: ((seconds: number) => void) | undefined,
  ) {}

  /** Starts the worker and resolves once the model is loaded; rejects with the load error. */
  start(): Promise<Worker> {
    if (this.worker !== undefined) return Promise.resolve(this.worker);
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Runs one padded batch on this worker's session. */
  async run(rows: BatchRow[]): Promise<Embedding[]> {
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise<Embedding[]>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      const message: ToWorkerMessage = { type: 'run', id, rows };
      worker.postMessage(message);
    });
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const message: ToWorkerMessage = { type: 'close' };
    worker.postMessage(message);
    // The worker releases the session and exits; terminate() is the fallback if it hangs.
    const timer = setTimeout(() => void worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
    this.rejectAll(new AppError('shutting_down', 'Embedder closed before the request finished'));
  }

  private spawn(): Promise<Worker> {
    const worker = spawnInferenceWorker(this.config);
    return new Promise<Worker>((resolve, reject) => {
      let ready = false;
      let initError: string | undefined;
      worker.on('message', (message: FromWorkerMessage) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            this.worker = worker;
            resolve(worker);
            break;
          case 'init_failed':
            initError = message.message;
            break;
          case 'result':
            this.onRan?.(message.seconds);
            this.settle(message.id)?.resolve(message.embeddings);
            break;
          case 'failed':
            this.settle(message.id)?.reject(
              new AppError('model_error', `Embedding failed: ${message.message}`, {
                context: { model: this.name },
              }),
            );
            break;
        }
      });
      let crash: Error | undefined;
      worker.on('error', (error) => {
        crash = error;
      });
      worker.on('exit', (code) => {
        if (!ready) {
          const reason = initError ?? crash?.message ?? `worker exited with code ${code}`;
          reject(
            new AppError('model_error', `Could not load model ${this.name}: ${reason}`, {
              cause: crash,
              context: { model: this.name, modelPath: this.config.modelPath },
            }),
          );
          return;
        }
        if (this.worker !== worker) return; // stopped on purpose
        this.worker = undefined;
        this.rejectAll(
          new AppError('model_error', `Inference worker died: ${crash?.message ?? `exit code ${code}`}`, {
            cause: crash,
            context: { model: this.name },
          }),
        );
      });
    });
  }

  private get name(): string {
    return this.config.manifest.name;
  }

  private settle(id: number): Waiter | undefined {
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    return waiter;
  }

  private rejectAll(error: AppError): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}
