import { defined, httpServerSchema, logLevelSchema, serviceTokenSchema } from '@rag/config/common-schemas';
import { httpFromEnv, sharedEnvNames } from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8081) }),
  logLevel: logLevelSchema.default('info'),
  serviceToken: serviceTokenSchema,
  model: z.object({
    dir: z.string().min(1, 'name the model folder (model.onnx, tokenizer.json, rag-model.json)'),
    manifestPath: z.string().min(1).optional(),
    threads: z.coerce.number().int().min(1).max(256).optional(),
    maxBatchTokens: z.coerce.number().int().min(64).optional(),
    maxBatchSize: z.coerce.number().int().min(1).max(1024).optional(),
  }),
});

export type EmbeddingConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): EmbeddingConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
      model: defined({
        dir: env.MODEL_DIR ?? '',
        manifestPath: env.MODEL_MANIFEST,
        threads: env.EMBED_THREADS,
        maxBatchTokens: env.EMBED_MAX_BATCH_TOKENS,
        maxBatchSize: env.EMBED_MAX_BATCH_SIZE,
      }),
    },
    {
      ...sharedEnvNames,
      'model.dir': 'MODEL_DIR',
      'model.manifestPath': 'MODEL_MANIFEST',
      'model.threads': 'EMBED_THREADS',
      'model.maxBatchTokens': 'EMBED_MAX_BATCH_TOKENS',
      'model.maxBatchSize': 'EMBED_MAX_BATCH_SIZE',
    },
  );
}
