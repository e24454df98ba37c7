import { type JwtAlgorithm, type JwtOptions, jwtConfigProblems } from '@rag/auth/jwt-config';
import {
  commaListSchema,
  httpSettings,
  logLevelSetting,
  postgresSettings,
  redisSettings,
  searchServiceUrlSetting,
  serviceTokenSetting,
} from '@rag/config/base-settings';
import { embeddingServicesSettings } from '@rag/config/embedding-services';
import type { Env } from '@rag/config/secret';
import {
  type ConfigOf,
  defineConfig,
  group,
  optionalGroup,
  plain,
  secret,
  settingsEnvNames,
} from '@rag/config/settings';
import { webhookSettings } from '@rag/ingest-contract/webhook-settings';
import { storageSettings } from '@rag/storage/storage-config';
import { z } from 'zod';
import { parseTrustedProxies } from './client-address.js';

const optionalString = z.string().optional();

/** JWT bearer tokens are accepted when an issuer is configured; the settings are checked by @rag/auth. */
const jwtFields = {
  issuer: plain('JWT_ISSUER', z.string()),
  audience: plain('JWT_AUDIENCE', z.string()),
  // Every name is checked by the group's check (jwtConfigProblems) before the config is handed out.
  algorithms: plain(
    'JWT_ALGORITHMS',
    z.string().transform((list) => commaListSchema.parse(list) as JwtAlgorithm[]),
  ),
  keys: group({
    jwksUrl: plain('JWT_JWKS_URL', optionalString),
    publicKeyPem: secret('JWT_PUBLIC_KEY', optionalString),
    secret: secret('JWT_SECRET', optionalString),
  }),
  clockToleranceSec: plain('JWT_CLOCK_TOLERANCE_SEC', z.coerce.number().int().min(0).max(600).default(30)),
  claims: group({
    tenant: plain('JWT_TENANT_CLAIM', optionalString),
    roles: plain('JWT_ROLES_CLAIM', optionalString),
    groups: plain('JWT_GROUPS_CLAIM', optionalString),
    collections: plain('JWT_COLLECTIONS_CLAIM', optionalString),
  }),
};

type JwtSettings = ConfigOf<typeof jwtFields>;

/** The verifier's options from the JWT settings, unset keys and claim names left out. */
export function jwtOptions(jwt: JwtSettings): JwtOptions {
  return {
    issuer: jwt.issuer,
    audience: jwt.audience,
    algorithms: jwt.algorithms,
    clockToleranceSec: jwt.clockToleranceSec,
    keys: withoutUnset(jwt.keys),
    claims: withoutUnset(jwt.claims),
  };
}

function withoutUnset<T extends object>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

const jwtEnvNames = settingsEnvNames(jwtFields);

/** @rag/auth's problems (`keys.secret: …`) as issues of the group, options named by their variables. */
function checkJwt(jwt: JwtSettings, ctx: z.RefinementCtx) {
  for (const problem of jwtConfigProblems(jwtOptions(jwt))) {
    const at = problem.indexOf(': ');
    const message = problem
      .slice(at + 2)
      .replace(/\b(?:keys|claims)\.[A-Za-z]+\b/g, (path) => jwtEnvNames[path] ?? path);
    ctx.addIssue({ code: 'custom', path: problem.slice(0, at).split('.'), message });
  }
}

const config = defineConfig(
  {
    http: httpSettings(8080),
    logLevel: logLevelSetting,
    postgres: postgresSettings(),
    redis: redisSettings,
    searchServiceUrl: searchServiceUrlSetting,
    /** The embedding models behind POST /v1/embeddings and GET /v1/models. */
    embeddingServices: embeddingServicesSettings,
    serviceToken: serviceTokenSetting,
    auth: group({
      adminApiKey: secret('ADMIN_API_KEY', z.string().min(20, 'must be at least 20 characters')),
      /** Key for the API-key hash; rotating it invalidates every issued key. */
      apiKeyPepper: secret('API_KEY_PEPPER', z.string().default('')),
      defaultTenant: plain('DEFAULT_TENANT', z.string().default('default')),
      /**
       * How long a verified API key and a collection's id are reused without reading PostgreSQL; a revoke or
       * a collection delete ends them at once on every replica (request-cache.ts). 0 reads PostgreSQL every
       * time.
       */
      cacheTtlMs: plain('AUTH_CACHE_TTL_MS', z.coerce.number().int().min(0).max(3_600_000).default(60_000)),
    }),
    jwt: optionalGroup('JWT_ISSUER', jwtFields, checkJwt),
    rateLimits: group({
      perAddressPerMinute: plain('RATE_LIMIT_PER_ADDRESS', z.coerce.number().int().positive().default(1200)),
      perCredentialPerMinute: plain(
        'RATE_LIMIT_PER_CREDENTIAL',
        z.coerce.number().int().positive().default(600),
      ),
      /**
       * CIDRs of the proxies in front of the gateway (the ingress); only their X-Forwarded-For names the
       * client whose per-address limit applies. None by default: the socket peer is the client.
       */
      trustedProxies: plain(
        'TRUSTED_PROXIES',
        z
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
      ),
    }),
    /** Origins allowed to call the API from a browser; none by default. */
    corsOrigins: plain('CORS_ORIGINS', commaListSchema),
    limits: group({
      /** Largest JSON body accepted, e.g. "10mb"; a document's text travels in it. */
      bodyLimit: plain(
        'BODY_LIMIT',
        z
          .string()
          .regex(/^\d+(b|kb|mb)$/i)
          .default('10mb'),
      ),
    }),
    ingest: group({
      attempts: plain('INGEST_ATTEMPTS', z.coerce.number().int().min(1).max(50).default(5)),
      backoffMs: plain('INGEST_BACKOFF_MS', z.coerce.number().int().positive().default(2000)),
      /** Largest uploaded file; it streams to storage, so this bounds disk, not memory. */
      maxUploadBytes: plain(
        'MAX_UPLOAD_BYTES',
        z.coerce
          .number()
          .int()
          .positive()
          .default(50 * 1024 * 1024),
      ),
    }),
    storage: storageSettings,
    /** Where tenants' webhooks may point and how their signing secrets are stored. */
    webhooks: webhookSettings,
    /** The built web console (apps/console/dist) to serve at /console; not served when unset. */
    consoleDir: plain('CONSOLE_DIR', z.string().min(1).optional()),
    /**
     * The console's sign-in at the JWT issuer (OpenID Connect, authorization code with PKCE): the public
     * client registered there for `<gateway>/console/`, the scope and, for providers that take one, the
     * resource indicator (RFC 8707) naming this API. Only with JWT_ISSUER.
     */
    consoleOidc: optionalGroup('CONSOLE_OIDC_CLIENT_ID', {
      clientId: plain('CONSOLE_OIDC_CLIENT_ID', z.string().min(1)),
      scope: plain('CONSOLE_OIDC_SCOPE', z.string().min(1).default('openid')),
      resource: plain('CONSOLE_OIDC_RESOURCE', z.string().url().optional()),
    }),
  },
  (gateway, ctx) => {
    if (gateway.consoleOidc && !gateway.jwt)
      ctx.addIssue({
        code: 'custom',
        path: ['consoleOidc', 'clientId'],
        message: 'the console signs in at the JWT issuer; set JWT_ISSUER too',
      });
  },
);

export type GatewayConfig = ConfigOf<typeof config.settings>;

export function loadConfig(env: Env): GatewayConfig {
  return config.load(env);
}
