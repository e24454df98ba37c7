import { availableParallelism } from 'node:os';
import { AppError } from '@rag/contracts/app-error';
import type { Embedding, ModelInfo, OutputKind, TextKind, TokenizedText } from '@rag/contracts/embedding-api';
import { loadModelFolder } from '@rag/models/model-manifest';
import { InferenceWorkerHost } from './inference-worker-host.js';
import { loadModelTokenizer, type TokenizeOptions } from './model-tokenizer.js';

export interface EmbedderOptions {
  /** Folder with model.onnx and tokenizer.json (and rag-model.json unless manifestPath is given). */
  modelDir: string;
  /** Manifest kept outside a read-only model folder. */
  manifestPath?: string | undefined;
  /** ONNX Runtime intra-op threads; default: all cores. */
  threads?: number | undefined;
  /** Upper bound on padded tokens (rows × longest row) per inference batch. */
  maxBatchTokens?: number | undefined;
  maxBatchSize?: number | undefined;
}

export interface EmbedOptions {
  kind: TextKind;
  outputs: readonly OutputKind[];
}

export interface Embedder {
  info: ModelInfo;
  /** One embedding per text, in order, holding exactly the requested outputs. */
  embed(texts: readonly string[], options: EmbedOptions): Promise<Embedding[]>;
  /** Token ids of texts as they are (no prefix), with UTF-16 offsets when asked. */
  tokenize(texts: readonly string[], options: TokenizeOptions): Promise<TokenizedText[]>;
  /** Waits for calls in flight, then stops the worker; later calls fail with 'shutting_down'. */
  close(): Promise<void>;
}

export const defaultMaxBatchTokens = 8192;
export const defaultMaxBatchSize = 32;

/** Loads the model in a worker thread and resolves once it is ready to embed. */
export async function createEmbedder(options: EmbedderOptions): Promise<Embedder> {
  const folder = await loadModelFolder(options.modelDir, { manifestPath: options.manifestPath }).catch(
    (error: unknown) => {
      throw new AppError('model_error', (error as Error).message, { cause: error });
    },
  );
  const { manifest } = folder;
  const threads = options.threads ?? availableParallelism();
  const maxBatchTokens = options.maxBatchTokens ?? defaultMaxBatchTokens;
  const maxBatchSize = options.maxBatchSize ?? defaultMaxBatchSize;
  for (const [name, value] of Object.entries({ threads, maxBatchTokens, maxBatchSize })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new AppError('bad_request', `Embedder option ${name} must be a positive integer, got ${value}`);
    }
  }

  const host = new InferenceWorkerHost({
    modelPath: folder.modelPath,
    tokenizerPath: folder.tokenizerPath,
    manifest,
    threads,
    maxBatchTokens,
    maxBatchSize,
  });
  await host.start();
  const tokenizer = await loadModelTokenizer(folder.tokenizerPath, manifest);

  const info: ModelInfo = {
    name: manifest.name,
    dim: manifest.dim,
    maxLength: manifest.maxLength,
    outputs: {
      dense: true,
      sparse: manifest.outputs.sparse !== null,
      colbert: manifest.outputs.colbert !== null,
    },
  };
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  return {
    info,
    async embed(texts, { kind, outputs }) {
      if (closed) throw new AppError('shutting_down', 'The embedder is closed');
      const missing = outputs.filter((output) => !info.outputs[output]);
      if (missing.length > 0) {
        throw new AppError('bad_request', `Model ${info.name} has no ${missing.join(', ')} output`, {
          context: { model: info.name, missing },
        });
      }
      if (texts.length === 0) return [];
      const call = host.embed([...texts], kind, [...new Set(outputs)]);
      inFlight.add(call);
      try {
        return await call;
      } finally {
        inFlight.delete(call);
      }
    },
    async tokenize(texts, tokenizeOptions) {
      if (closed) throw new AppError('shutting_down', 'The embedder is closed');
      return tokenizer.tokenize(texts, tokenizeOptions);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(inFlight);
      await host.stop();
    },
  };
}
