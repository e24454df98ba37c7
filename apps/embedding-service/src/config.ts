import {
  absolutePathSchema,
  defined,
  httpServerSchema,
  logLevelSchema,
  serviceTokenSchema,
} from '@rag/config/common-schemas';
import { httpFromEnv, sharedEnvNames } from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { settingPath } from '@rag/config/setting-path';
import { executionProviders } from '@rag/contracts/embedding-api';
import { z } from 'zod';

const positiveInt = z.coerce.number().int().min(1);

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8081) }),
  logLevel: logLevelSchema.default('info'),
  serviceToken: serviceTokenSchema,
  model: z.object({
    dir: z
      .string()
      .min(1, 'name the model folder (model.onnx, tokenizer.json, rag-model.json)')
      .pipe(absolutePathSchema),
    manifestPath: absolutePathSchema.optional(),
  }),
  inference: z.object({
    provider: z.enum(executionProviders).default('cpu'),
    deviceId: z.coerce.number().int().min(0).default(0),
    /** Cores inference may use; in Kubernetes the container's CPU limit. */
    cores: positiveInt.max(1024).optional(),
    poolSize: positiveInt.max(64).optional(),
    intraOpThreads: positiveInt.max(256).optional(),
    soloThreads: z.coerce.number().int().min(0).max(256).optional(),
    maxBatchTokens: z.coerce.number().int().min(64).optional(),
    maxBatchSize: positiveInt.max(1024).optional(),
    maxQueuedTexts: positiveInt.optional(),
    batchWaitMs: z.coerce.number().min(0).max(1000).optional(),
    requestTimeoutMs: positiveInt.optional(),
  }),
  limits: z.object({
    maxInputs: positiveInt.default(256),
    maxInputChars: positiveInt.default(100_000),
    maxTotalTokens: positiveInt.default(131_072),
  }),
});

export type EmbeddingConfig = z.infer<typeof schema>;
export type RequestLimits = EmbeddingConfig['limits'];

export function loadConfig(env: Env): EmbeddingConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
      model: defined({
        dir: settingPath(env, env.MODEL_DIR) ?? '',
        manifestPath: settingPath(env, env.MODEL_MANIFEST),
      }),
      inference: defined({
        provider: env.EMBED_EXECUTION_PROVIDER,
        deviceId: env.EMBED_CUDA_DEVICE_ID,
        cores: env.EMBED_THREADS,
        poolSize: env.EMBED_POOL_SIZE,
        intraOpThreads: env.EMBED_INTRA_OP_THREADS,
        soloThreads: env.EMBED_SOLO_THREADS,
        maxBatchTokens: env.EMBED_MAX_BATCH_TOKENS,
        maxBatchSize: env.EMBED_MAX_BATCH_SIZE,
        maxQueuedTexts: env.EMBED_MAX_QUEUE,
        batchWaitMs: env.EMBED_BATCH_WAIT_MS,
        requestTimeoutMs: env.EMBED_REQUEST_TIMEOUT_MS,
      }),
      limits: defined({
        maxInputs: env.EMBED_MAX_INPUTS,
        maxInputChars: env.EMBED_MAX_INPUT_CHARS,
        maxTotalTokens: env.EMBED_MAX_TOTAL_TOKENS,
      }),
    },
    {
      ...sharedEnvNames,
      'model.dir': 'MODEL_DIR',
      'model.manifestPath': 'MODEL_MANIFEST',
      'inference.provider': 'EMBED_EXECUTION_PROVIDER',
      'inference.deviceId': 'EMBED_CUDA_DEVICE_ID',
      'inference.cores': 'EMBED_THREADS',
      'inference.poolSize': 'EMBED_POOL_SIZE',
      'inference.intraOpThreads': 'EMBED_INTRA_OP_THREADS',
      'inference.soloThreads': 'EMBED_SOLO_THREADS',
      'inference.maxBatchTokens': 'EMBED_MAX_BATCH_TOKENS',
      'inference.maxBatchSize': 'EMBED_MAX_BATCH_SIZE',
      'inference.maxQueuedTexts': 'EMBED_MAX_QUEUE',
      'inference.batchWaitMs': 'EMBED_BATCH_WAIT_MS',
      'inference.requestTimeoutMs': 'EMBED_REQUEST_TIMEOUT_MS',
      'limits.maxInputs': 'EMBED_MAX_INPUTS',
      'limits.maxInputChars': 'EMBED_MAX_INPUT_CHARS',
      'limits.maxTotalTokens': 'EMBED_MAX_TOTAL_TOKENS',
    },
  );
}
