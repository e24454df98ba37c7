import {
  httpServerSchema,
  logLevelSchema,
  milvusSchema,
  postgresSchema,
  redisSchema,
  serviceTokenSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import { embeddingServicesSchema } from '@rag/config/embedding-services';
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
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8082) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  milvus: milvusSchema,
  redis: redisSchema,
  cache: z.object({
    /** Seconds a query embedding stays cached; 0 turns the cache off. */
    embeddingTtlSeconds: z.coerce.number().int().nonnegative().default(3600),
    /** Seconds an answer stays cached; any write to its collection invalidates it sooner. 0 turns it off. */
    answerTtlSeconds: z.coerce.number().int().nonnegative().default(300),
  }),
  embeddingServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
  /** The embedding services of further models (EMBEDDING_SERVICE_URLS), for collections that record them. */
  otherEmbeddingServiceUrls: embeddingServicesSchema.shape.otherUrls,
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
      redis: redisFromEnv(env),
      cache: {
        embeddingTtlSeconds: env.SEARCH_EMBEDDING_CACHE_TTL_SECONDS,
        answerTtlSeconds: env.SEARCH_ANSWER_CACHE_TTL_SECONDS,
      },
      embeddingServiceUrl: env.EMBEDDING_SERVICE_URL,
      otherEmbeddingServiceUrls: env.EMBEDDING_SERVICE_URLS,
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
    },
    {
      ...sharedEnvNames,
      'cache.embeddingTtlSeconds': 'SEARCH_EMBEDDING_CACHE_TTL_SECONDS',
      'cache.answerTtlSeconds': 'SEARCH_ANSWER_CACHE_TTL_SECONDS',
      otherEmbeddingServiceUrls: 'EMBEDDING_SERVICE_URLS',
    },
  );
}
