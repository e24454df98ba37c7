import type { Embedding } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import type { ExecutionProviderConfig } from './execution-provider.js';
import type { BatchRow } from './model-runner.js';

/** Messages between the embedder (main thread) and one inference worker. Only structured-cloneable data. */

export interface InferenceWorkerConfig {
  modelPath: string;
  manifest: ModelManifest;
  /** ONNX Runtime intra-op threads of this worker's session. */
  threads: number;
  /** Whether idle intra-op threads spin during a run instead of sleeping (fast when the session runs alone). */
  spinning?: boolean | undefined;
  provider: ExecutionProviderConfig;
  padId: number;
  specialIds: number[];
}

export type ToWorkerMessage = { type: 'run'; id: number; rows: BatchRow[] } | { type: 'close' };

export type FromWorkerMessage =
  | { type: 'ready' }
  | { type: 'init_failed'; message: string }
  /** seconds: the batch's time inside the worker thread (tensors, ONNX Runtime's run, pooling). */
  | { type: 'result'; id: number; embeddings: Embedding[]; seconds: number }
  | { type: 'failed'; id: number; message: string };
