import { parentPort, workerData } from 'node:worker_threads';
import type { Embedding, OutputKind } from '@rag/contracts/embedding-api';
import { planBatches } from './batch-planner.js';
import { loadModelRunner, type ModelRunner } from './model-runner.js';
import { loadModelTokenizer, type ModelTokenizer } from './model-tokenizer.js';
import type { FromWorkerMessage, InferenceWorkerConfig, ToWorkerMessage } from './worker-protocol.js';

/**
 * Worker thread entry. onnxruntime-node's run() blocks the thread it runs on, so tokenisation and inference live
 * here, away from the HTTP event loop. Requests that arrive while a batch runs queue up and are coalesced into the
 * next batches.
 */

interface QueuedText {
  requestId: number;
  index: number;
  ids: number[];
  tokenCount: number;
  outputs: OutputKind[];
}

interface PendingRequest {
  results: (Embedding | undefined)[];
  remaining: number;
}

const port = parentPort;
if (port === null) throw new Error('inference-worker must run in a worker thread');
const config = workerData as InferenceWorkerConfig;
const post = (message: FromWorkerMessage) => port.postMessage(message);

let tokenizer: ModelTokenizer;
let runner: ModelRunner;
try {
  tokenizer = await loadModelTokenizer(config.tokenizerPath, config.manifest);
  runner = await loadModelRunner({
    modelPath: config.modelPath,
    manifest: config.manifest,
    threads: config.threads,
    padId: tokenizer.padId,
    specialIds: tokenizer.specialIds,
  });
} catch (error) {
  post({ type: 'init_failed', message: messageOf(error) });
  process.exit(1);
}

const requests = new Map<number, PendingRequest>();
let queue: QueuedText[] = [];
let pumping = false;

port.on('message', (message: ToWorkerMessage) => {
  if (message.type === 'close') {
    void runner.release().finally(() => process.exit(0));
    return;
  }
  const { id, texts, kind, outputs } = message;
  tokenizer.encode(texts, kind).then(
    (encoded) => {
      requests.set(id, { results: new Array(texts.length), remaining: texts.length });
      encoded.forEach(({ ids }, index) => {
        queue.push({ requestId: id, index, ids, tokenCount: ids.length, outputs });
      });
      void pump();
    },
    (error: unknown) => post({ type: 'failed', id, message: `Tokenisation failed: ${messageOf(error)}` }),
  );
});

post({ type: 'ready' });

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (queue.length > 0) {
      // Everything queued now is one generation: it is planned and run before later arrivals, so sorting by
      // length inside a generation cannot starve long texts.
      const generation = queue;
      queue = [];
      for (const batch of planBatches(generation, config)) {
        await runBatch(batch.filter((text) => requests.has(text.requestId)));
      }
    }
  } finally {
    pumping = false;
  }
}

async function runBatch(batch: QueuedText[]): Promise<void> {
  if (batch.length === 0) return;
  try {
    deliver(batch, await runner.run(batch));
  } catch (error) {
    const requestIds = [...new Set(batch.map((text) => text.requestId))];
    if (requestIds.length === 1) {
      fail(requestIds[0]!, error);
      return;
    }
    // Rerun each request alone so that one bad input fails only the request that sent it.
    for (const requestId of requestIds) {
      await runBatch(batch.filter((text) => text.requestId === requestId));
    }
  }
}

function deliver(batch: readonly QueuedText[], embeddings: readonly Embedding[]): void {
  batch.forEach((text, i) => {
    const request = requests.get(text.requestId);
    if (request === undefined) return;
    request.results[text.index] = embeddings[i];
    request.remaining -= 1;
    if (request.remaining === 0) {
      requests.delete(text.requestId);
      post({ type: 'result', id: text.requestId, embeddings: request.results as Embedding[] });
    }
  });
}

function fail(requestId: number, error: unknown): void {
  // Dropping the request makes the rest of its texts skip inference (see pump).
  requests.delete(requestId);
  post({ type: 'failed', id: requestId, message: messageOf(error) });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
