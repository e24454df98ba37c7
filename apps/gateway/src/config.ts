import {
  defined,
  httpServerSchema,
  logLevelSchema,
  postgresSchema,
  redisSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import { httpFromEnv, postgresFromEnv, redisFromEnv, sharedEnvNames } from '@rag/config/env-groups';
import { parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { z } from 'zod';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8080) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  redis: redisSchema,
  searchServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8082'),
  auth: z.object({
    adminApiKey: z.string().min(20, 'must be at least 20 characters'),
    /** Key for the API-key hash; rotating it invalidates every issued key. */
    apiKeyPepper: z.string().default(''),
    defaultTenant: z.string().default('default'),
  }),
  limits: z.object({
    /** Largest JSON body accepted, e.g. "10mb"; a document's text travels in it. */
    bodyLimit: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i)
      .default('10mb'),
  }),
  ingest: z.object({
    attempts: z.coerce.number().int().min(1).max(50).default(5),
    backoffMs: z.coerce.number().int().positive().default(2000),
  }),
});

export type GatewayConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): GatewayConfig {
  return parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      postgres: postgresFromEnv(env),
      redis: redisFromEnv(env),
      searchServiceUrl: env.SEARCH_SERVICE_URL,
      auth: defined({
        adminApiKey: readSecret(env, 'ADMIN_API_KEY'),
        apiKeyPepper: readSecret(env, 'API_KEY_PEPPER'),
        defaultTenant: env.DEFAULT_TENANT,
      }),
      limits: defined({ bodyLimit: env.BODY_LIMIT }),
      ingest: defined({ attempts: env.INGEST_ATTEMPTS, backoffMs: env.INGEST_BACKOFF_MS }),
    },
    { ...sharedEnvNames, 'auth.adminApiKey': 'ADMIN_API_KEY', 'limits.bodyLimit': 'BODY_LIMIT' },
  );
}
