import { closeServer } from '@rag/http/http-server';
import { listenService } from '@rag/http/service-listeners';
import { failReadiness, onShutdownSignal } from '@rag/http/shutdown';
import { flushTelemetry } from '@rag/telemetry/flush';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createEmbeddingApp } from './app.js';
import { loadConfig } from './config.js';
import { createEmbedder } from './engine/embedder.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'embedding-service', level: config.logLevel });
const metrics = createServiceMetrics('embedding-service');

// The model loads before we listen: readiness is simply "the port answers".
const { inference } = config;
const embedder = await createEmbedder({
  modelDir: config.model.dir,
  manifestPath: config.model.manifestPath,
  provider: inference.provider,
  deviceId: inference.deviceId,
  cores: inference.cores,
  poolSize: inference.poolSize,
  threads: inference.intraOpThreads,
  soloThreads: inference.soloThreads,
  soloSpinning: inference.soloSpinning,
  maxBatchTokens: inference.maxBatchTokens,
  maxBatchSize: inference.maxBatchSize,
  maxQueuedTexts: inference.maxQueuedTexts,
  batchWaitMs: inference.batchWaitMs,
  requestTimeoutMs: inference.requestTimeoutMs,
});
logger.info({ model: embedder.info, settings: embedder.settings }, 'model loaded');

const { app, management, lifecycle } = createEmbeddingApp({
  logger,
  metrics,
  embedder,
  serviceToken: config.serviceToken,
  limits: config.limits,
});
const listeners = await listenService({ app, management }, config.http);
logger.info(
  { port: listeners.port, management_port: listeners.managementPort },
  'embedding service listening',
);

onShutdownSignal(logger, [
  failReadiness(lifecycle, config.http.shutdownDelayMs),
  { name: 'drain http', run: () => closeServer(listeners.server, config.http.shutdownGraceMs) },
  { name: 'stop inference', run: () => embedder.close() },
  // Last, so that readiness answers 503 (not a refused connection) for as long as the process runs.
  { name: 'close management', run: () => closeServer(listeners.management, 1000) },
  { name: 'flush telemetry', run: flushTelemetry },
]);
