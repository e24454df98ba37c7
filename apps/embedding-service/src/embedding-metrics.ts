import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Embedder } from './engine/embedder.js';

/**
 * The embedding service's metrics. Where Hugging Face text-embeddings-inference (TEI) has a metric for the same
 * thing, ours has its name, unit and meaning (te_*), so TEI dashboards carry over; embedding_* are ours (the
 * rag-system dashboard uses them).
 */
export interface EmbeddingMetrics {
  /** Counts a request on one of the embedding routes; call finish() with its outcome. */
  startRequest(method: string): { succeeded(): void; failed(error: string): void };
  /** A successful /v1/embed or /v1/embeddings call: its kind of text, texts and tokens, and how long it took. */
  embedded(kind: string, texts: number, tokens: number, seconds: number): void;
}

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const powersOfTwo = (count: number) => Array.from({ length: count }, (_, i) => 2 ** i);

export function createEmbeddingMetrics(registry: Registry, embedder: Embedder): EmbeddingMetrics {
  const registers = [registry];
  const requestCount = new Counter({
    name: 'te_request_count',
    help: 'Embedding requests received, by method (embed, openai_embeddings, tokenize).',
    labelNames: ['method'] as const,
    registers,
  });
  const requestSuccess = new Counter({
    name: 'te_request_success',
    help: 'Embedding requests answered successfully, by method.',
    labelNames: ['method'] as const,
    registers,
  });
  const requestFailure = new Counter({
    name: 'te_request_failure',
    help: 'Embedding requests that failed, by error code (validation_failed, rate_limited, timeout, ...).',
    labelNames: ['err'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'te_request_duration',
    help: 'Seconds to answer one embed request: tokenisation, queue and inference.',
    buckets: durationBuckets,
    registers,
  });
  const tokenizationDuration = new Histogram({
    name: 'te_request_tokenization_duration',
    help: 'Seconds spent tokenising one embed request.',
    buckets: durationBuckets,
    registers,
  });
  const queueDuration = new Histogram({
    name: 'te_request_queue_duration',
    help: "Seconds one embed request's texts waited for an inference worker.",
    buckets: durationBuckets,
    registers,
  });
  const inferenceDuration = new Histogram({
    name: 'te_request_inference_duration',
    help: "Seconds of inference of the batches holding one embed request's texts.",
    buckets: durationBuckets,
    registers,
  });
  const inputLength = new Histogram({
    name: 'te_request_input_length',
    help: 'Tokens per embedded text, special tokens included, after truncation.',
    buckets: powersOfTwo(14),
    registers,
  });
  const batchSize = new Histogram({
    name: 'te_batch_next_size',
    help: 'Texts per inference batch.',
    buckets: powersOfTwo(11),
    registers,
  });
  const batchTokens = new Histogram({
    name: 'te_batch_next_tokens',
    help: 'Padded tokens (rows times longest row) per inference batch.',
    buckets: powersOfTwo(18),
    registers,
  });
  new Gauge({
    name: 'te_queue_size',
    help: 'Texts waiting for an inference worker.',
    registers,
    collect() {
      this.set(embedder.queuedTexts);
    },
  });
  const tokensPerSecond = new Gauge({
    name: 'embedding_inference_tokens_per_second',
    help: 'Tokens per second of inference over the last batch, per worker (real tokens, padding excluded).',
    registers,
  });
  const inferenceTokens = new Counter({
    name: 'embedding_inference_tokens_total',
    help: 'Tokens that went through inference; rate() of it is the service-wide tokens per second.',
    registers,
  });
  const sessionRun = new Histogram({
    name: 'embedding_session_run_seconds',
    help:
      'Seconds of one batch inside its inference worker thread (ONNX Runtime run with its input tensors and pooling), ' +
      'by session: pool, solo_spinning or solo_sleeping. te_request_inference_duration less this is message passing.',
    labelNames: ['session'] as const,
    buckets: durationBuckets,
    registers,
  });
  const { info, settings } = embedder;
  new Gauge({
    name: 'embedding_model_info',
    help: 'The model served and where it runs (always 1).',
    labelNames: ['model', 'family', 'provider', 'device_id', 'pool_size', 'intra_op_threads'] as const,
    registers,
  }).set(
    {
      model: info.name,
      family: info.family ?? 'bge-m3',
      provider: settings.provider.name,
      device_id: settings.provider.name === 'cuda' ? String(settings.provider.deviceId) : '',
      pool_size: String(settings.poolSize),
      intra_op_threads: String(settings.threads),
    },
    1,
  );
  // Kept under their original names: the rag-system Grafana dashboard plots them.
  const textsTotal = new Counter({
    name: 'embedding_texts_total',
    help: 'Texts embedded, by kind (query or passage).',
    labelNames: ['kind'] as const,
    registers,
  });
  const tokensTotal = new Counter({
    name: 'embedding_tokens_total',
    help: 'Tokens embedded (after truncation, with special tokens).',
    registers,
  });
  const duration = new Histogram({
    name: 'embedding_duration_seconds',
    help: 'Time to answer one embed request, queueing included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  embedder.observe({
    batchStarted(size, paddedTokens) {
      batchSize.observe(size);
      batchTokens.observe(paddedTokens);
    },
    batchFinished(tokens, seconds) {
      inferenceTokens.inc(tokens);
      if (seconds > 0) tokensPerSecond.set(tokens / seconds);
    },
    requestFinished(timings) {
      tokenizationDuration.observe(timings.tokenizeSeconds);
      queueDuration.observe(timings.queueSeconds);
      inferenceDuration.observe(timings.inferenceSeconds);
    },
    inputLength(tokens) {
      inputLength.observe(tokens);
    },
    sessionRan(session, seconds) {
      sessionRun.observe({ session }, seconds);
    },
  });

  return {
    startRequest(method) {
      requestCount.inc({ method });
      const stop = requestDuration.startTimer();
      return {
        succeeded() {
          stop();
          requestSuccess.inc({ method });
        },
        failed(error) {
          requestFailure.inc({ err: error });
        },
      };
    },
    embedded(kind, texts, tokens, seconds) {
      textsTotal.inc({ kind }, texts);
      tokensTotal.inc(tokens);
      duration.observe(seconds);
    },
  };
}
