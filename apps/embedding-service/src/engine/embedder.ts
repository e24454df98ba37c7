import { createHash } from 'node:crypto';
import { AppError } from '@rag/contracts/app-error';
import type {
  Embedding,
  EmbedPriority,
  ModelInfo,
  OutputKind,
  TextKind,
  TokenizedText,
} from '@rag/contracts/embedding-api';
import { loadModelFolder } from '@rag/models/model-manifest';
import { BatchScheduler, type SchedulerEvents } from './batch-scheduler.js';
import { checkNotTruncated, checkOutputs, checkTokenIds, checkTotalTokens } from './embed-checks.js';
import { type EmbedderOptions, type EmbedderSettings, resolveEmbedderSettings } from './embedder-settings.js';
import { type SessionKind, startInferencePool } from './inference-pool.js';
import { loadModelTokenizer, type TokenizeOptions } from './model-tokenizer.js';

export type { EmbedderOptions, EmbedderSettings } from './embedder-settings.js';

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
  /** Interactive texts go ahead of bulk ones in the queue; left out, queries are interactive, the rest bulk. */
  priority?: EmbedPriority | undefined;
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
  /** A batch's time inside its worker thread (the session's run with its tensors and pooling), by session. */
  sessionRan?(session: SessionKind, seconds: number): void;
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

/** Loads the model in a pool of worker threads and resolves once every worker is ready to embed. */
export async function createEmbedder(options: EmbedderOptions): Promise<Embedder> {
  const folder = await loadModelFolder(options.modelDir, { manifestPath: options.manifestPath }).catch(
    (error: unknown) => {
      throw new AppError('model_error', (error as Error).message, { cause: error });
    },
  );
  const { manifest } = folder;
  const settings = resolveEmbedderSettings(options);

  const tokenizer = await loadModelTokenizer(folder.tokenizerPath, manifest).catch((error: unknown) => {
    throw new AppError('model_error', `Could not load ${folder.tokenizerPath}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  const observers = new Set<EmbedderObserver>();
  const inference = await startInferencePool(
    {
      modelPath: folder.modelPath,
      manifest,
      padId: tokenizer.padId,
      specialIds: [...tokenizer.specialIds],
    },
    settings,
    (...args) => {
      for (const o of observers) o.sessionRan?.(...args);
    },
  );
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
    sessionRan(...args) {
      for (const o of observers) o.sessionRan?.(...args);
    },
  };
  const scheduler = new BatchScheduler(inference.workers, settings, observer, {
    solo: inference.solo,
    beside: inference.beside,
  });

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
    checkOutputs(info, options.outputs);
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
    if (options.truncate === false) checkNotTruncated(encoded, info.maxLength);
    return runEncoded(
      encoded.map((text) => text.ids),
      { ...options, priority: options.priority ?? (kind === 'query' ? 'interactive' : 'bulk') },
      deadline,
      tokenizeSeconds,
    );
  }

  async function embedTokenIds(
    inputs: readonly (readonly number[])[],
    options: TokenIdsOptions,
  ): Promise<Embedding[]> {
    checkOutputs(info, options.outputs);
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
    checkTotalTokens(ids, options.maxTotalTokens);
    for (const text of ids) observer.inputLength(text.length);
    const { embeddings, timings } = await scheduler.submit({
      texts: ids,
      outputs: [...new Set(options.outputs)],
      signal: options.signal,
      deadline,
      interactive: options.priority === 'interactive',
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
      await inference.stop();
    },
  };
}
