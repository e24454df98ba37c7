import {
  defined,
  httpServerSchema,
  logLevelSchema,
  milvusSchema,
  postgresSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8082) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  milvus: milvusSchema,
  embeddingServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
});

export type SearchConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): SearchConfig {
  return parseConfig(
    schema,
    {
      http: defined({ host: env.HOST, port: env.PORT, shutdownGraceMs: env.SHUTDOWN_GRACE_MS }),
      logLevel: env.LOG_LEVEL,
      postgres: defined({
        url: readSecret(env, 'DATABASE_URL'),
        schema: env.DATABASE_SCHEMA,
        poolSize: env.DATABASE_POOL_SIZE,
      }),
      milvus: defined({
        address: env.MILVUS_ADDRESS,
        token: readSecret(env, 'MILVUS_TOKEN'),
        database: env.MILVUS_DATABASE,
        collectionPrefix: env.MILVUS_COLLECTION_PREFIX,
      }),
      embeddingServiceUrl: env.EMBEDDING_SERVICE_URL,
    },
    {
      'http.port': 'PORT',
      'postgres.url': 'DATABASE_URL',
      'milvus.address': 'MILVUS_ADDRESS',
      embeddingServiceUrl: 'EMBEDDING_SERVICE_URL',
    },
  );
}
