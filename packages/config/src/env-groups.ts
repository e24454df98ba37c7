import {
  embeddingServiceUrlSetting,
  httpSettings,
  logLevelSetting,
  milvusSettings,
  postgresSettings,
  redisSettings,
  searchServiceUrlSetting,
  serviceTokenSetting,
} from './base-settings.js';
import type { Env } from './secret.js';
import { readSettings, settingsEnvNames } from './settings.js';

/**
 * The raw values of each shared group from the environment and the variable of each path, both read off the
 * groups' settings (base-settings.ts), for code that parses one group on its own.
 */

export const postgresFromEnv = (env: Env) => readSettings(postgresSettings().fields, env);
export const redisFromEnv = (env: Env) => readSettings(redisSettings.fields, env);
export const milvusFromEnv = (env: Env) => readSettings(milvusSettings.fields, env);

export const sharedEnvNames: Record<string, string> = settingsEnvNames({
  http: httpSettings(),
  logLevel: logLevelSetting,
  postgres: postgresSettings(),
  redis: redisSettings,
  milvus: milvusSettings,
  embeddingServiceUrl: embeddingServiceUrlSetting,
  searchServiceUrl: searchServiceUrlSetting,
  serviceToken: serviceTokenSetting,
});
