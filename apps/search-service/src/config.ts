import {
  httpServerSchema,
  logLevelSchema,
  milvusSchema,
  postgresSchema,
  serviceTokenSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import { httpFromEnv, milvusFromEnv, postgresFromEnv, sharedEnvNames } from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8082) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  milvus: milvusSchema,
  embeddingServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
  serviceToken: serviceTokenSchema,
});

export type SearchConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): SearchConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      postgres: postgresFromEnv(env),
      milvus: milvusFromEnv(env),
      embeddingServiceUrl: env.EMBEDDING_SERVICE_URL,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
    },
    sharedEnvNames,
  );
}
