import type { Worker } from 'node:worker_threads';
import { startWorkerThread } from '@rag/contracts/worker-thread';
import type { InferenceWorkerConfig } from './worker-protocol.js';

/** Starts the inference worker (inference-worker.ts, dist/engine/inference-worker.js when built) in a thread. */
export function spawnInferenceWorker(config: InferenceWorkerConfig): Worker {
  return startWorkerThread(import.meta.url, 'inference-worker', { workerData: config });
}
