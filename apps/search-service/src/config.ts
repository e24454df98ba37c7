import {
  embeddingServiceUrlSetting,
  httpSettings,
  logLevelSetting,
  milvusSettings,
  otherEmbeddingServiceUrlsSetting,
  postgresSettings,
  redisSettings,
  serviceTokenSetting,
} from '@rag/config/base-settings';
import type { Env } from '@rag/config/secret';
import { type ConfigOf, defineConfig, group, plain } from '@rag/config/settings';
import { z } from 'zod';

const config = defineConfig({
  http: httpSettings(8082),
  logLevel: logLevelSetting,
  postgres: postgresSettings(),
  milvus: milvusSettings,
  redis: redisSettings,
  cache: group({
    /** Seconds a query embedding stays cached; 0 turns the cache off. */
    embeddingTtlSeconds: plain(
      'SEARCH_EMBEDDING_CACHE_TTL_SECONDS',
      z.coerce.number().int().nonnegative().default(3600),
    ),
    /** Seconds an answer stays cached; any write to its collection invalidates it sooner. 0 turns it off. */
    answerTtlSeconds: plain(
      'SEARCH_ANSWER_CACHE_TTL_SECONDS',
      z.coerce.number().int().nonnegative().default(300),
    ),
  }),
  embeddingServiceUrl: embeddingServiceUrlSetting,
  /** The embedding services of further models, for collections that record them. */
  otherEmbeddingServiceUrls: otherEmbeddingServiceUrlsSetting,
  serviceToken: serviceTokenSetting,
});

export type SearchConfig = ConfigOf<typeof config.settings>;

export function loadConfig(env: Env): SearchConfig {
  return config.load(env);
}
