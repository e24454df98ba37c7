import { availableParallelism } from 'node:os';
import { AppError } from '@rag/contracts/app-error';
import type { ExecutionProvider } from '@rag/contracts/embedding-api';
import { cudaProviderProblem, type ExecutionProviderConfig } from './execution-provider.js';

export const soloSpinningModes = ['auto', 'on', 'off'] as const;
export type SoloSpinning = (typeof soloSpinningModes)[number];

export interface EmbedderOptions {
  /** Folder with model.onnx and tokenizer.json (and rag-model.json unless manifestPath is given). */
  modelDir: string;
  /** Manifest kept outside a read-only model folder. */
  manifestPath?: string | undefined;
  /** Cores inference may use (a container's CPU limit); default: all of the machine's. */
  cores?: number | undefined;
  /** Inference workers, each with its own ONNX Runtime session; default from the cores (defaultPool). */
  poolSize?: number | undefined;
  /** ONNX Runtime intra-op threads per worker; default: the cores divided among the workers. */
  threads?: number | undefined;
  /**
   * Intra-op threads of the solo worker, the session that runs a batch alone when nothing else is queued or running
   * (one client): default all the cores on CPU when the pool's workers have fewer; 0 for none.
   */
  soloThreads?: number | undefined;
  /**
   * Whether the solo worker's threads spin between the operators of a run (they stop when it returns): 'on', 'off',
   * or 'auto' (default): two solo sessions, one of each, and each lone batch runs on the one lately faster.
   */
  soloSpinning?: SoloSpinning | undefined;
  /** Upper bound on padded tokens (rows × longest row) per inference batch. */
  maxBatchTokens?: number | undefined;
  maxBatchSize?: number | undefined;
  /** Texts that may wait for a worker before new requests get 429. */
  maxQueuedTexts?: number | undefined;
  /** How long a free worker waits for a batch to fill, in ms (0: start at once). */
  batchWaitMs?: number | undefined;
  /** Default deadline of one embed call, in ms; past it the call fails with 504 and its queued texts are dropped. */
  requestTimeoutMs?: number | undefined;
  provider?: ExecutionProvider | undefined;
  /** CUDA device ordinal. */
  deviceId?: number | undefined;
}

export interface EmbedderSettings {
  poolSize: number;
  threads: number;
  /** 0: no solo worker. */
  soloThreads: number;
  soloSpinning: SoloSpinning;
  maxBatchTokens: number;
  maxBatchSize: number;
  /** Padded over real tokens a batch may reach (batch-planner.ts). */
  maxPaddingRatio: number;
  maxQueuedTexts: number;
  batchWaitMs: number;
  requestTimeoutMs: number;
  provider: ExecutionProviderConfig;
}

/**
 * Padded tokens per batch: on CPU 1024 (8 texts of 128 tokens, 2 of 512), where a single-threaded session runs
 * small batches best (measured on multilingual-e5-small: batches of 4 to 8 texts of 128 tokens give some 15% more
 * tokens per CPU second than batches of 32, whose activations outgrow the caches); on CUDA 8192, as a GPU wants
 * large batches.
 */
export function defaultMaxBatchTokens(provider: ExecutionProvider): number {
  return provider === 'cuda' ? 8192 : 1024;
}
export const defaultMaxBatchSize = 32;

/**
 * Padded over real tokens a batch may reach: on CUDA 1.5 (padding runs in parallel, larger batches win); on CPU
 * 1.1, as every padded token costs a real one's CPU. Measured with bench:ingest (multilingual-e5-small fp32, 500
 * JSQuAD chunks, 16 jobs feeding 2 single-threaded workers, batches of ~2 to 3 texts of mixed lengths): at 1.5 the
 * batches computed 1.20× their real tokens and the service spent 82 ms of CPU per chunk (64 when fed requests of
 * 32 texts); at 1.1 they computed 1.04× and it spent 69 ms.
 */
export function defaultMaxPaddingRatio(provider: ExecutionProvider): number {
  return provider === 'cuda' ? 1.5 : 1.1;
}
export const defaultMaxQueuedTexts = 4096;
export const defaultRequestTimeoutMs = 60_000;

/**
 * Workers that fit the machine: on CPU, two once there are at least two cores, so that one worker's next batch
 * forms while the other's runs; on CUDA one per device, as the GPU runs one batch at a time anyway.
 */
export function defaultPoolSize(cores: number, provider: ExecutionProvider): number {
  if (provider === 'cuda') return 1;
  return cores >= 2 ? 2 : 1;
}

/** Intra-op threads per worker: the cores shared out among the workers (CUDA needs one to feed the GPU). */
export function defaultThreads(cores: number, poolSize: number, provider: ExecutionProvider): number {
  if (provider === 'cuda') return 1;
  return Math.max(1, Math.floor(cores / poolSize));
}

/**
 * Threads of the solo worker: all the cores, when that is more than a pool worker has and the pool has several
 * workers (otherwise one pool worker already is the lone batch's best session); none on CUDA.
 */
export function defaultSoloThreads(
  cores: number,
  poolSize: number,
  threads: number,
  provider: ExecutionProvider,
): number {
  if (provider === 'cuda' || poolSize < 2 || cores <= threads) return 0;
  return cores;
}

/** The options with every default filled in and checked; a bad value or a missing CUDA provider throws. */
export function resolveEmbedderSettings(options: EmbedderOptions): EmbedderSettings {
  const providerName = options.provider ?? 'cpu';
  const cores = options.cores ?? availableParallelism();
  const poolSize = options.poolSize ?? defaultPoolSize(cores, providerName);
  const threads = options.threads ?? defaultThreads(cores, poolSize, providerName);
  const settings: EmbedderSettings = {
    poolSize,
    threads,
    soloThreads: options.soloThreads ?? defaultSoloThreads(cores, poolSize, threads, providerName),
    soloSpinning: options.soloSpinning ?? 'auto',
    maxBatchTokens: options.maxBatchTokens ?? defaultMaxBatchTokens(providerName),
    maxBatchSize: options.maxBatchSize ?? defaultMaxBatchSize,
    maxPaddingRatio: defaultMaxPaddingRatio(providerName),
    maxQueuedTexts: options.maxQueuedTexts ?? defaultMaxQueuedTexts,
    batchWaitMs: options.batchWaitMs ?? 0,
    requestTimeoutMs: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
    provider: { name: providerName, deviceId: options.deviceId ?? 0 },
  };
  for (const name of [
    'poolSize',
    'threads',
    'maxBatchTokens',
    'maxBatchSize',
    'maxQueuedTexts',
    'requestTimeoutMs',
  ] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new AppError('bad_request', `Embedder option ${name} must be a positive integer, got ${value}`);
    }
  }
  if (!Number.isInteger(settings.soloThreads) || settings.soloThreads < 0) {
    throw new AppError(
      'bad_request',
      `Embedder option soloThreads must be 0 or a positive integer, got ${settings.soloThreads}`,
    );
  }
  if (!Number.isFinite(settings.batchWaitMs) || settings.batchWaitMs < 0) {
    throw new AppError(
      'bad_request',
      `Embedder option batchWaitMs must be 0 or more, got ${settings.batchWaitMs}`,
    );
  }
  if (providerName === 'cuda') {
    const problem = cudaProviderProblem();
    if (problem !== undefined) {
      throw new AppError('model_error', `EMBED_EXECUTION_PROVIDER=cuda is not available: ${problem}`);
    }
  }
  return settings;
}
