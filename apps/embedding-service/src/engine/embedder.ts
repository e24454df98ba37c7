import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { AppError } from '@rag/contracts/app-error';
import type {
  Embedding,
  ExecutionProvider,
  ModelInfo,
  OutputKind,
  TextKind,
  TokenizedText,
} from '@rag/contracts/embedding-api';
import { loadModelFolder } from '@rag/models/model-manifest';
import { BatchScheduler, type SchedulerEvents } from './batch-scheduler.js';
import { cudaProviderProblem, type ExecutionProviderConfig } from './execution-provider.js';
import { InferenceWorkerHost } from './inference-worker-host.js';
import { loadModelTokenizer, type TokenizeOptions } from './model-tokenizer.js';

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

export interface EmbedOptions {
  kind: TextKind;
  outputs: readonly OutputKind[];
  /** Default true: cut texts longer than maxLength; false refuses them with 413. */
  truncate?: boolean | undefined;
  /** Aborted when the client went away: the texts leave the queue. */
  signal?: AbortSignal | undefined;
  /** Overrides the default deadline, in ms from now. */
  timeoutMs?: number | undefined;
  /** Refuse (413) a call whose texts have more tokens than this in all, after truncation. */
  maxTotalTokens?: number | undefined;
}

export type TokenIdsOptions = Omit<EmbedOptions, 'kind' | 'truncate'>;

/** Timings of one embed call, for the te_request_* metrics. */
export interface EmbedTimings {
  texts: number;
  tokens: number;
  tokenizeSeconds: number;
  queueSeconds: number;
  inferenceSeconds: number;
}

/** Hooks for metrics; every one is optional. */
export interface EmbedderObserver extends SchedulerEvents {
  requestFinished?(timings: EmbedTimings): void;
  inputLength?(tokens: number): void;
}

export interface EmbedderSettings {
  poolSize: number;
  threads: number;
  /** 0: no solo worker. */
  soloThreads: number;
  maxBatchTokens: number;
  maxBatchSize: number;
  maxQueuedTexts: number;
  batchWaitMs: number;
  requestTimeoutMs: number;
  provider: ExecutionProviderConfig;
}

export interface Embedder {
  info: ModelInfo;
  settings: EmbedderSettings;
  /** Texts waiting for a worker now. */
  readonly queuedTexts: number;
  /** One embedding per text, in order, holding exactly the requested outputs. */
  embed(texts: readonly string[], options: EmbedOptions): Promise<Embedding[]>;
  /**
   * One embedding per token array, embedded exactly as given: the model's own token ids with its special tokens
   * (as /v1/tokenize gives them), no prefix added, at most maxLength ids each (longer ones are refused with 413).
   */
  embedTokenIds(inputs: readonly (readonly number[])[], options: TokenIdsOptions): Promise<Embedding[]>;
  /** Token ids of texts as they are (no prefix), with UTF-16 offsets when asked. */
  tokenize(texts: readonly string[], options: TokenizeOptions): Promise<TokenizedText[]>;
  /** Seconds a refused caller should wait before retrying. */
  retryAfterSeconds(): number;
  /** Adds hooks (metrics) called on every batch and request; returns a function that removes them. */
  observe(observer: EmbedderObserver): () => void;
  /** Waits for calls in flight, then stops the workers; later calls fail with 'shutting_down'. */
  close(): Promise<void>;
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

/** Loads the model in a pool of worker threads and resolves once every worker is ready to embed. */
export async function createEmbedder(options: EmbedderOptions): Promise<Embedder> {
  const folder = await loadModelFolder(options.modelDir, { manifestPath: options.manifestPath }).catch(
    (error: unknown) => {
      throw new AppError('model_error', (error as Error).message, { cause: error });
    },
  );
  const { manifest } = folder;
  const providerName = options.provider ?? 'cpu';
  const cores = options.cores ?? availableParallelism();
  const poolSize = options.poolSize ?? defaultPoolSize(cores, providerName);
  const threads = options.threads ?? defaultThreads(cores, poolSize, providerName);
  const settings: EmbedderSettings = {
    poolSize,
    threads,
    soloThreads: options.soloThreads ?? defaultSoloThreads(cores, poolSize, threads, providerName),
    maxBatchTokens: options.maxBatchTokens ?? defaultMaxBatchTokens(providerName),
    maxBatchSize: options.maxBatchSize ?? defaultMaxBatchSize,
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

  const tokenizer = await loadModelTokenizer(folder.tokenizerPath, manifest).catch((error: unknown) => {
    throw new AppError('model_error', `Could not load ${folder.tokenizerPath}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  const host = (threads: number, spinning: boolean) =>
    new InferenceWorkerHost({
      modelPath: folder.modelPath,
      manifest,
      threads,
      spinning,
      provider: settings.provider,
      padId: tokenizer.padId,
      specialIds: [...tokenizer.specialIds],
    });
  const pool = Array.from({ length: settings.poolSize }, () => host(settings.threads, false));
  // No spinning even for the solo session, which runs alone: on a machine shared with other work (or a container
  // held to its CPU limit) spinning threads get descheduled mid-operator, and a text took 35 to 160 ms instead of 31.
  const solo = settings.soloThreads > 0 ? host(settings.soloThreads, false) : undefined;
  const hosts = solo === undefined ? pool : [...pool, solo];
  // One after the other: loading parses the graph and pre-packs its weights, and the peak of several sessions
  // loading at once would outlast the load.
  for (const worker of hosts) {
    try {
      await worker.start();
    } catch (error) {
      await Promise.allSettled(hosts.map((started) => started.stop()));
      throw error;
    }
  }
  const observers = new Set<EmbedderObserver>();
  const observer: Required<EmbedderObserver> = {
    batchStarted(...args) {
      for (const o of observers) o.batchStarted?.(...args);
    },
    batchFinished(...args) {
      for (const o of observers) o.batchFinished?.(...args);
    },
    requestFinished(...args) {
      for (const o of observers) o.requestFinished?.(...args);
    },
    inputLength(...args) {
      for (const o of observers) o.inputLength?.(...args);
    },
  };
  const scheduler = new BatchScheduler(pool, settings, observer, solo);

  const info: ModelInfo = {
    name: manifest.name,
    dim: manifest.dim,
    maxLength: manifest.maxLength,
    outputs: {
      dense: true,
      sparse: manifest.outputs.sparse !== null,
      colbert: manifest.outputs.colbert !== null,
    },
    family: manifest.family,
    prefixes: manifest.prefixes,
    manifestHash: createHash('sha256').update(JSON.stringify(manifest)).digest('hex'),
    provider: settings.provider.name,
    ...(settings.provider.name === 'cuda' ? { deviceId: settings.provider.deviceId } : {}),
  };
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  // Texts accepted but still being tokenised: they count against the queue so a burst cannot overshoot it.
  let tokenizing = 0;

  function checkOutputs(outputs: readonly OutputKind[]): void {
    const missing = outputs.filter((output) => !info.outputs[output]);
    if (missing.length > 0) {
      throw new AppError(
        'bad_request',
        `Model ${info.name} has no ${missing.join(', ')} output (it serves ${describeOutputs(info)})`,
        { context: { model: info.name, missing } },
      );
    }
  }

  function checkQueueRoom(count: number): void {
    if (!scheduler.hasRoomFor(count, tokenizing)) {
      throw new AppError(
        'rate_limited',
        `The embedding queue is full (${scheduler.queuedTexts + tokenizing} of ${settings.maxQueuedTexts} texts waiting); retry in ${scheduler.retryAfterSeconds()} s`,
        { context: { retryAfterSeconds: scheduler.retryAfterSeconds() } },
      );
    }
  }

  async function embed(texts: readonly string[], options: EmbedOptions): Promise<Embedding[]> {
    const { kind } = options;
    checkOutputs(options.outputs);
    if (texts.length === 0) return [];
    checkQueueRoom(texts.length);
    const deadline = performance.now() + (options.timeoutMs ?? settings.requestTimeoutMs);
    const tokenizeStarted = performance.now();
    tokenizing += texts.length;
    let encoded: Awaited<ReturnType<typeof tokenizer.encode>>;
    try {
      encoded = await tokenizer.encode(texts, kind);
    } finally {
      tokenizing -= texts.length;
    }
    const tokenizeSeconds = (performance.now() - tokenizeStarted) / 1000;
    if (options.truncate === false) {
      const tooLong = encoded.flatMap((text, index) => (text.truncated ? [index] : []));
      if (tooLong.length > 0) {
        throw new AppError(
          'payload_too_large',
          `Input ${tooLong.slice(0, 10).join(', ')}${tooLong.length > 10 ? ', ...' : ''} ${tooLong.length === 1 ? 'is' : 'are'} longer than the model's ${info.maxLength} tokens; shorten ${tooLong.length === 1 ? 'it' : 'them'} or send truncate: true`,
          { context: { inputs: tooLong, maxLength: info.maxLength } },
        );
      }
    }
    return runEncoded(
      encoded.map((text) => text.ids),
      options,
      deadline,
      tokenizeSeconds,
    );
  }

  async function embedTokenIds(
    inputs: readonly (readonly number[])[],
    options: TokenIdsOptions,
  ): Promise<Embedding[]> {
    checkOutputs(options.outputs);
    if (inputs.length === 0) return [];
    checkTokenIds(inputs, tokenizer.vocabSize, info.maxLength);
    checkQueueRoom(inputs.length);
    const deadline = performance.now() + (options.timeoutMs ?? settings.requestTimeoutMs);
    return runEncoded(inputs, options, deadline, 0);
  }

  /** The part shared by texts and token arrays: the total token limit, the queue, and the timings. */
  async function runEncoded(
    ids: readonly (readonly number[])[],
    options: TokenIdsOptions,
    deadline: number,
    tokenizeSeconds: number,
  ): Promise<Embedding[]> {
    const totalTokens = ids.reduce((sum, text) => sum + text.length, 0);
    if (options.maxTotalTokens !== undefined && totalTokens > options.maxTotalTokens) {
      throw new AppError(
        'payload_too_large',
        `The inputs have ${totalTokens} tokens in all, more than the limit of ${options.maxTotalTokens}; split the request`,
        { context: { tokens: totalTokens, limit: options.maxTotalTokens } },
      );
    }
    for (const text of ids) observer.inputLength(text.length);
    const { embeddings, timings } = await scheduler.submit({
      texts: ids,
      outputs: [...new Set(options.outputs)],
      signal: options.signal,
      deadline,
    });
    observer.requestFinished({
      texts: ids.length,
      tokens: embeddings.reduce((sum, embedding) => sum + embedding.tokens, 0),
      tokenizeSeconds,
      ...timings,
    });
    return embeddings;
  }

  async function tracked<T>(call: Promise<T>): Promise<T> {
    inFlight.add(call);
    try {
      return await call;
    } finally {
      inFlight.delete(call);
    }
  }

  return {
    info,
    settings,
    get queuedTexts() {
      return scheduler.queuedTexts;
    },
    async embed(texts, options) {
      if (closed) throw new AppError('shutting_down', 'The embedder is closed');
      return tracked(embed(texts, options));
    },
    async embedTokenIds(inputs, options) {
      if (closed) throw new AppError('shutting_down', 'The embedder is closed');
      return tracked(embedTokenIds(inputs, options));
    },
    async tokenize(texts, tokenizeOptions) {
      if (closed) throw new AppError('shutting_down', 'The embedder is closed');
      return tokenizer.tokenize(texts, tokenizeOptions);
    },
    retryAfterSeconds: () => scheduler.retryAfterSeconds(),
    observe(added) {
      observers.add(added);
      return () => observers.delete(added);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(inFlight);
      scheduler.close();
      await Promise.allSettled(hosts.map((host) => host.stop()));
    },
  };
}

/**
 * Token arrays skip the tokenizer, so what it guarantees is checked here: every id is one of the model's, and
 * no array is longer than the model reads (cutting it would drop the end token the caller put there).
 */
function checkTokenIds(inputs: readonly (readonly number[])[], vocabSize: number, maxLength: number): void {
  for (const [index, ids] of inputs.entries()) {
    if (ids.length === 0) {
      throw new AppError('validation_failed', `input[${index}] is an empty token array`, {
        context: { issues: [{ path: `input.${index}`, message: 'empty token array' }] },
      });
    }
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad !== undefined) {
      throw new AppError(
        'validation_failed',
        `input[${index}] holds token id ${bad}, which is not one of the model's ${vocabSize} token ids`,
        { context: { issues: [{ path: `input.${index}`, message: 'token id out of range' }] } },
      );
    }
    if (ids.length > maxLength) {
      throw new AppError(
        'payload_too_large',
        `input[${index}] has ${ids.length} tokens, more than the model's ${maxLength}; shorten it`,
        { context: { index, maxLength } },
      );
    }
  }
}

function describeOutputs(info: ModelInfo): string {
  const outputs = (['dense', 'sparse', 'colbert'] as const).filter((output) => info.outputs[output]);
  return info.family === 'encoder'
    ? `${outputs.join(', ')} only, being a sentence encoder`
    : outputs.join(', ');
}
