import {
  defined,
  httpServerSchema,
  logLevelSchema,
  postgresSchema,
  redisSchema,
  serviceTokenSchema,
  serviceUrlSchema,
} from '@rag/config/common-schemas';
import {
  embeddingServicesEnvNames,
  embeddingServicesFromEnv,
  embeddingServicesSchema,
} from '@rag/config/embedding-services';
import { httpFromEnv, postgresFromEnv, redisFromEnv, sharedEnvNames } from '@rag/config/env-groups';
import { ConfigError, parseConfig } from '@rag/config/parse-config';
import { type Env, readSecret } from '@rag/config/secret';
import { webhookSettingsEnvNames, webhookSettingsSchema } from '@rag/ingest-contract/webhook-settings';
import { storageEnvNames, storageFromEnv, storageSchema } from '@rag/storage/storage-config';
import { z } from 'zod';
import { parseTrustedProxies } from './client-address.js';

const schema = z.object({
  http: httpServerSchema.extend({ port: httpServerSchema.shape.port.default(8080) }),
  logLevel: logLevelSchema.default('info'),
  postgres: postgresSchema,
  redis: redisSchema,
  searchServiceUrl: serviceUrlSchema.default('http://127.0.0.1:8082'),
  /** The embedding models behind POST /v1/embeddings and GET /v1/models. */
  embeddingServices: embeddingServicesSchema,
  serviceToken: serviceTokenSchema,
  auth: z.object({
    adminApiKey: z.string().min(20, 'must be at least 20 characters'),
    /** Key for the API-key hash; rotating it invalidates every issued key. */
    apiKeyPepper: z.string().default(''),
    defaultTenant: z.string().default('default'),
    /**
     * How long a verified API key and a collection's id are reused without reading PostgreSQL; a revoke or a
     * collection delete ends them at once on every replica (request-cache.ts). 0 reads PostgreSQL every time.
     */
    cacheTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  }),
  /** JWT bearer tokens are accepted when an issuer is configured; @rag/auth validates the rest. */
  jwt: z
    .object({
      issuer: z.string().min(1),
      audience: z.string().min(1),
      algorithms: z
        .string()
        .min(1)
        .transform((list) => list.split(',').map((a) => a.trim())),
      jwksUrl: z.string().url().optional(),
      publicKeyPem: z.string().optional(),
      secret: z.string().optional(),
      clockToleranceSec: z.coerce.number().int().min(0).max(600).default(30),
      claims: z.object({
        tenant: z.string().optional(),
        roles: z.string().optional(),
        groups: z.string().optional(),
        collections: z.string().optional(),
      }),
    })
    .optional(),
  rateLimits: z.object({
    perAddressPerMinute: z.coerce.number().int().positive().default(1200),
    perCredentialPerMinute: z.coerce.number().int().positive().default(600),
    /**
     * CIDRs of the proxies in front of the gateway (the ingress); only their X-Forwarded-For names the client
     * whose per-address limit applies. None by default: the socket peer is the client.
     */
    trustedProxies: z
      .string()
      .default('')
      .transform((list, ctx) => {
        try {
          return parseTrustedProxies(list);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
  }),
  /** Origins allowed to call the API from a browser; none by default. */
  corsOrigins: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
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
    /** Largest uploaded file; it streams to storage, so this bounds disk, not memory. */
    maxUploadBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(50 * 1024 * 1024),
  }),
  storage: storageSchema,
  /** Where tenants' webhooks may point and how their signing secrets are stored. */
  webhooks: webhookSettingsSchema,
  /** The built web console (apps/console/dist) to serve at /console; not served when unset. */
  consoleDir: z.string().min(1).optional(),
  /**
   * The console's sign-in at the JWT issuer (OpenID Connect, authorization code with PKCE): the public
   * client registered there for `<gateway>/console/`, the scope and, for providers that take one, the
   * resource indicator (RFC 8707) naming this API. Only with JWT_ISSUER.
   */
  consoleOidc: z
    .object({
      clientId: z.string().min(1),
      scope: z.string().min(1).default('openid'),
      resource: z.string().url().optional(),
    })
    .optional(),
});

export type GatewayConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): GatewayConfig {
  const config = parseConfig(
    schema,
    {
      http: httpFromEnv(env),
      logLevel: env.LOG_LEVEL,
      postgres: postgresFromEnv(env),
      redis: redisFromEnv(env),
      searchServiceUrl: env.SEARCH_SERVICE_URL,
      embeddingServices: embeddingServicesFromEnv(env),
      serviceToken: readSecret(env, 'SERVICE_TOKEN'),
      jwt:
        env.JWT_ISSUER === undefined
          ? undefined
          : defined({
              issuer: env.JWT_ISSUER,
              audience: env.JWT_AUDIENCE,
              algorithms: env.JWT_ALGORITHMS,
              jwksUrl: env.JWT_JWKS_URL,
              publicKeyPem: readSecret(env, 'JWT_PUBLIC_KEY'),
              secret: readSecret(env, 'JWT_SECRET'),
              clockToleranceSec: env.JWT_CLOCK_TOLERANCE_SEC,
              claims: defined({
                tenant: env.JWT_TENANT_CLAIM,
                roles: env.JWT_ROLES_CLAIM,
                groups: env.JWT_GROUPS_CLAIM,
                collections: env.JWT_COLLECTIONS_CLAIM,
              }),
            }),
      rateLimits: defined({
        perAddressPerMinute: env.RATE_LIMIT_PER_ADDRESS,
        perCredentialPerMinute: env.RATE_LIMIT_PER_CREDENTIAL,
        trustedProxies: env.TRUSTED_PROXIES,
      }),
      corsOrigins: env.CORS_ORIGINS,
      auth: defined({
        adminApiKey: readSecret(env, 'ADMIN_API_KEY'),
        apiKeyPepper: readSecret(env, 'API_KEY_PEPPER'),
        defaultTenant: env.DEFAULT_TENANT,
        cacheTtlMs: env.AUTH_CACHE_TTL_MS,
      }),
      limits: defined({ bodyLimit: env.BODY_LIMIT }),
      ingest: defined({
        attempts: env.INGEST_ATTEMPTS,
        backoffMs: env.INGEST_BACKOFF_MS,
        maxUploadBytes: env.MAX_UPLOAD_BYTES,
      }),
      storage: storageFromEnv(env),
      webhooks: defined({
        allowedHosts: env.WEBHOOK_ALLOWED_HOSTS,
        allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
        secretKeys: readSecret(env, 'WEBHOOK_SECRET_KEY'),
      }),
      consoleDir: env.CONSOLE_DIR,
      consoleOidc:
        env.CONSOLE_OIDC_CLIENT_ID === undefined
          ? undefined
          : defined({
              clientId: env.CONSOLE_OIDC_CLIENT_ID,
              scope: env.CONSOLE_OIDC_SCOPE,
              resource: env.CONSOLE_OIDC_RESOURCE,
            }),
    },
    {
      ...sharedEnvNames,
      ...embeddingServicesEnvNames,
      ...storageEnvNames,
      ...webhookSettingsEnvNames,
      'ingest.maxUploadBytes': 'MAX_UPLOAD_BYTES',
      'auth.adminApiKey': 'ADMIN_API_KEY',
      'auth.cacheTtlMs': 'AUTH_CACHE_TTL_MS',
      'jwt.issuer': 'JWT_ISSUER',
      'jwt.audience': 'JWT_AUDIENCE',
      'jwt.algorithms': 'JWT_ALGORITHMS',
      'jwt.jwksUrl': 'JWT_JWKS_URL',
      'rateLimits.perAddressPerMinute': 'RATE_LIMIT_PER_ADDRESS',
      'rateLimits.perCredentialPerMinute': 'RATE_LIMIT_PER_CREDENTIAL',
      'rateLimits.trustedProxies': 'TRUSTED_PROXIES',
      'limits.bodyLimit': 'BODY_LIMIT',
      consoleDir: 'CONSOLE_DIR',
      'consoleOidc.clientId': 'CONSOLE_OIDC_CLIENT_ID',
      'consoleOidc.scope': 'CONSOLE_OIDC_SCOPE',
      'consoleOidc.resource': 'CONSOLE_OIDC_RESOURCE',
    },
  );
  if (config.consoleOidc && !config.jwt) {
    throw new ConfigError([
      'CONSOLE_OIDC_CLIENT_ID (consoleOidc.clientId): the console signs in at the JWT issuer; set JWT_ISSUER too',
    ]);
  }
  return config;
}
