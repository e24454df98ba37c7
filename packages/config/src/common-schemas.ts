import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseClusterSeeds } from './redis-cluster-seeds.js';
import { relativePathProblem } from './setting-path.js';

/** Config groups shared by several services. Each app composes the ones it needs in its config.ts. */

/** A path setting after `settingPath`: relative ones without RAG_BASE_DIR are refused by name. */
export const absolutePathSchema = z.string().min(1).refine(isAbsolute, relativePathProblem);

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const httpServerSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535),
  /** Readiness and metrics listen here, off the public port; unset means PORT + 1000 (@rag/http). */
  managementPort: z.coerce.number().int().min(0).max(65535).optional(),
  /** How long shutdown waits for in-flight requests before closing connections. */
  shutdownGraceMs: z.coerce.number().int().positive().default(10_000),
  /**
   * How long to keep serving after SIGTERM with readiness already failing, so that load balancers stop
   * routing here before the listener closes (Kubernetes removes endpoints asynchronously; 5 s is typical).
   */
  shutdownDelayMs: z.coerce.number().int().min(0).max(60_000).default(0),
});

export const postgresSchema = z.object({
  url: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Schema the service works in; tests give each worker its own. */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier')
    .default('public'),
  poolSize: z.coerce.number().int().positive().default(10),
  /** Wait for a connection before answering 503: a PostgreSQL that is down or hung fails fast. */
  connectTimeoutMs: z.coerce.number().int().min(100).default(3_000),
  /** Longest query of an API request; the worker's default is longer (its config overrides it). */
  queryTimeoutMs: z.coerce.number().int().min(100).default(5_000),
});

export const redisSchema = z
  .object({
    /** One server; with `cluster`, one or more comma-separated seed nodes of a Redis Cluster. */
    url: z.string().default('redis://127.0.0.1:6379'),
    /**
     * Talk to a Redis Cluster: the nodes in `url` are seeds, the others are discovered. BullMQ's keys then
     * carry the prefix as a hash tag (`{rag}`), so each queue's keys share one slot as its scripts need.
     */
    cluster: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    /** Prefix of every BullMQ and cache key; tests give each worker its own. */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_:-]+$/, 'only letters, digits, _, : and - (a cluster adds the hash tag itself)')
      .default('rag'),
    /** Longest a Redis command of a request may take before failing (a hung Redis answers 503, not a hang). */
    commandTimeoutMs: z.coerce.number().int().min(100).default(2_000),
  })
  .superRefine((redis, ctx) => {
    if (!redis.cluster) return;
    for (const message of parseClusterSeeds(redis.url).problems)
      ctx.addIssue({ code: 'custom', path: ['url'], message });
  });

export const milvusSchema = z.object({
  address: z.string().min(1).default('127.0.0.1:19530'),
  token: z.string().optional(),
  database: z.string().optional(),
  collectionPrefix: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('rag_'),
  /**
   * Where BM25 vectors come from: `token-ids` (ours, from the model tokenizer; any language, any Milvus) or
   * `milvus-function` (Milvus's BM25 function over the chunk text with its `standard` analyzer).
   */
  bm25: z.enum(['token-ids', 'milvus-function']).default('token-ids'),
  /**
   * Deadline of one search call. Shorter than the gateway's 30 s, so a search already waiting on a Milvus
   * that hangs answers 503 with Retry-After rather than 504 at the gateway; writes keep the SDK's 30 s.
   */
  searchTimeoutMs: z.coerce.number().int().min(100).default(10_000),
});

export const serviceUrlSchema = z.string().url();

/** Drops undefined values so that zod defaults apply to unset variables. */
export function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The shared secret that internal calls carry, so a leaked internal port does not bypass the gateway. */
export const serviceTokenSchema = z.string().min(32, 'must be at least 32 characters');
