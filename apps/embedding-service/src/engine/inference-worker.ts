import { parentPort, workerData } from 'node:worker_threads';
import { loadModelRunner, type ModelRunner } from './model-runner.js';
import type { FromWorkerMessage, InferenceWorkerConfig, ToWorkerMessage } from './worker-protocol.js';

/**
 * Worker thread entry: one ONNX Runtime session that runs the batches the main thread's scheduler hands it, one at
 * a time. onnxruntime-node's run() keeps the thread it runs on busy, so inference lives here, away from the HTTP
 * event loop; tokenisation and batching stay on the main side so that they never wait behind a running batch.
 */

const port = parentPort;
if (port === null) throw new Error('inference-worker must run in a worker thread');
const config = workerData as InferenceWorkerConfig;
const post = (message: FromWorkerMessage) => port.postMessage(message);

let runner: ModelRunner;
try {
  runner = await loadModelRunner({
    modelPath: config.modelPath,
    manifest: config.manifest,
    threads: config.threads,
    spinning: config.spinning,
    provider: config.provider,
    padId: config.padId,
    specialIds: new Set(config.specialIds),
  });
} catch (error) {
  post({ type: 'init_failed', message: messageOf(error) });
  process.exit(1);
}

port.on('message', (message: ToWorkerMessage) => {
  if (message.type === 'close') {
    void runner.release().finally(() => process.exit(0));
    return;
  }
  const { id, rows } = message;
  const started = performance.now();
  runner.run(rows).then(
    (embeddings) => post({ type: 'result', id, embeddings, seconds: (performance.now() - started) / 1000 }),
    (error: unknown) => post({ type: 'failed', id, message: messageOf(error) }),
  );
});

post({ type: 'ready' });

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
