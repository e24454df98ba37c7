import type { Embedding, OutputKind, TextKind } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import type { BatchLimits } from './batch-planner.js';

/** Messages between the embedder (main thread) and its inference worker. Only structured-cloneable data. */

export interface InferenceWorkerConfig extends BatchLimits {
  modelPath: string;
  tokenizerPath: string;
  manifest: ModelManifest;
  threads: number;
}

export type ToWorkerMessage =
  | { type: 'embed'; id: number; texts: string[]; kind: TextKind; outputs: OutputKind[] }
  | { type: 'close' };

export type FromWorkerMessage =
  | { type: 'ready' }
  | { type: 'init_failed'; message: string }
  | { type: 'result'; id: number; embeddings: Embedding[] }
  | { type: 'failed'; id: number; message: string };
