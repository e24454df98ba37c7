import { httpSettings, logLevelSetting, serviceTokenSetting } from '@rag/config/base-settings';
import { absolutePathSchema } from '@rag/config/common-schemas';
import type { Env } from '@rag/config/secret';
import { type ConfigOf, defineConfig, group, pathSetting, plain } from '@rag/config/settings';
import { executionProviders } from '@rag/contracts/embedding-api';
import { z } from 'zod';
import { soloSpinningModes } from './engine/embedder-settings.js';

const positiveInt = z.coerce.number().int().min(1);

const config = defineConfig({
  http: httpSettings(8081),
  logLevel: logLevelSetting,
  serviceToken: serviceTokenSetting,
  model: group({
    dir: pathSetting(
      'MODEL_DIR',
      z
        .string()
        .min(1, 'name the model folder (model.onnx, tokenizer.json, rag-model.json)')
        .pipe(absolutePathSchema),
      { ifUnset: '' },
    ),
    manifestPath: pathSetting('MODEL_MANIFEST', absolutePathSchema.optional()),
  }),
  inference: group({
    provider: plain('EMBED_EXECUTION_PROVIDER', z.enum(executionProviders).default('cpu')),
    deviceId: plain('EMBED_CUDA_DEVICE_ID', z.coerce.number().int().min(0).default(0)),
    /** Cores inference may use, shared out among the workers; in Kubernetes the container's CPU limit. */
    cores: plain('EMBED_CORES', positiveInt.max(1024).optional()),
    poolSize: plain('EMBED_POOL_SIZE', positiveInt.max(64).optional()),
    intraOpThreads: plain('EMBED_INTRA_OP_THREADS', positiveInt.max(256).optional()),
    soloThreads: plain('EMBED_SOLO_THREADS', z.coerce.number().int().min(0).max(256).optional()),
    soloSpinning: plain('EMBED_SOLO_SPINNING', z.enum(soloSpinningModes).default('auto')),
    maxBatchTokens: plain('EMBED_MAX_BATCH_TOKENS', z.coerce.number().int().min(64).optional()),
    maxBatchSize: plain('EMBED_MAX_BATCH_SIZE', positiveInt.max(1024).optional()),
    maxQueuedTexts: plain('EMBED_MAX_QUEUE', positiveInt.optional()),
    batchWaitMs: plain('EMBED_BATCH_WAIT_MS', z.coerce.number().min(0).max(1000).optional()),
    requestTimeoutMs: plain('EMBED_REQUEST_TIMEOUT_MS', positiveInt.optional()),
  }),
  limits: group({
    maxInputs: plain('EMBED_MAX_INPUTS', positiveInt.default(256)),
    maxInputChars: plain('EMBED_MAX_INPUT_CHARS', positiveInt.default(100_000)),
    maxTotalTokens: plain('EMBED_MAX_TOTAL_TOKENS', positiveInt.default(131_072)),
  }),
});

export type EmbeddingConfig = ConfigOf<typeof config.settings>;
export type RequestLimits = EmbeddingConfig['limits'];

/**
 * EMBED_THREADS is the former name of EMBED_CORES (the cores, not the threads of one worker: those are
 * EMBED_INTRA_OP_THREADS); deprecated, it is still read when EMBED_CORES is unset.
 */
export function loadConfig(env: Env): EmbeddingConfig {
  if (env.EMBED_CORES === undefined && env.EMBED_THREADS !== undefined) {
    return config.load({ ...env, EMBED_CORES: env.EMBED_THREADS });
  }
  return config.load(env);
}
