import {
  defined,
  httpServerSchema,
  logLevelSchema,
  milvusSchema,
  postgresSchema,
  redisSchema,
  serviceTokenSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import {
  httpFromEnv,
  milvusFromEnv,
  postgresFromEnv,
  redisFromEnv,
  sharedEnvNames,
} from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8083) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  redis: redisSchema,
  milvus: milvusSchema,
  embeddingServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
  serviceToken: serviceTokenSchema,
  worker: z.object({
    /**
     * Jobs run one at a time per process by default: one writer per Milvus collection keeps a crash from
     * losing rows on servers without a write-ahead log (Milvus Lite); raise it against Milvus proper.
     */
    concurrency: z.coerce.number().int().min(1).max(64).default(1),
    chunkMaxChars: z.coerce.number().int().min(64).max(20_000).default(1200),
    embedBatchSize: z.coerce.number().int().min(1).max(256).default(32),
  }),
});

export type WorkerConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): WorkerConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      postgres: postgresFromEnv(env),
      redis: redisFromEnv(env),
      milvus: milvusFromEnv(env),
      embeddingServiceUrl: env.EMBEDDING_SERVICE_URL,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
      worker: defined({
        concurrency: env.WORKER_CONCURRENCY,
        chunkMaxChars: env.CHUNK_MAX_CHARS,
        embedBatchSize: env.EMBED_BATCH_SIZE,
      }),
    },
    {
      ...sharedEnvNames,
      'worker.concurrency': 'WORKER_CONCURRENCY',
      'worker.chunkMaxChars': 'CHUNK_MAX_CHARS',
      'worker.embedBatchSize': 'EMBED_BATCH_SIZE',
    },
  );
}
