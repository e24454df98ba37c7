import { createHash } from 'node:crypto';
import type { Embedding } from '@rag/contracts/embedding-api';
import type { InternalSearchResponse } from '@rag/contracts/search-api';
import type { RedisConnection } from '@rag/redis/redis-connection';

/**
 * Bumped whenever an answer entry's shape or key changes, so a new release never serves an older release's
 * answers.
 */
const answerShape = 4;

/**
 * Redis cache of query embeddings and of search answers, both keyed by tenant: a hit is visible to the
 * caller (a shorter embed time, `cache;desc=hit`), so sharing entries across tenants would tell one tenant
 * what another searched for. An answer is stored with the index it was computed on: the collection's index
 * version, which every write to the collection bumps (PostgreSQL triggers, migration 4), and the model that
 * built the index. `answerAt` serves it only at that same index, so a write makes every cached answer of the
 * collection unusable at once (the next search of each writes a new one over it; the others expire on their
 * own). The version is in the entry rather than in its key so that a search can ask for its answer while it
 * reads the version from PostgreSQL, not after. A cache that fails is skipped, never fatal: search works
 * without it.
 */
export interface SearchCache {
  getEmbedding(key: EmbeddingKey): Promise<Embedding | undefined>;
  putEmbedding(key: EmbeddingKey, embedding: Embedding): Promise<void>;
  /** The answer last stored under this key, whatever index it was computed on: see `answerAt`. */
  getAnswer(key: AnswerKey): Promise<StoredAnswer | undefined>;
  putAnswer(key: AnswerKey, stored: StoredAnswer): Promise<void>;
}

export interface EmbeddingKey {
  tenantId: string;
  model: string;
  outputs: readonly string[];
  query: string;
}

export interface AnswerKey {
  tenantId: string;
  collectionId: string;
  /** Everything else that shapes the answer: query, mode, page, filter, weights, principals, ... */
  request: unknown;
}

/** The index an answer was computed on: the collection's index version and the model that built it. */
export interface AnswerIndex {
  indexVersion: number;
  model: string;
}

export interface StoredAnswer {
  index: AnswerIndex;
  answer: InternalSearchResponse;
}

/** The stored answer if it was computed on this index, else nothing: an answer of another index is a miss. */
export function answerAt(
  stored: StoredAnswer | undefined,
  index: AnswerIndex,
): InternalSearchResponse | undefined {
  if (!stored?.index) return undefined;
  return stored.index.indexVersion === index.indexVersion && stored.index.model === index.model
    ? stored.answer
    : undefined;
}

export interface SearchCacheOptions {
  keyPrefix: string;
  embeddingTtlSeconds: number;
  answerTtlSeconds: number;
  onError: (error: unknown) => void;
}

export function createSearchCache(redis: RedisConnection, options: SearchCacheOptions): SearchCache {
  const prefix = `${options.keyPrefix}:search`;
  const embeddingKey = (key: EmbeddingKey) =>
    `${prefix}:embedding:${key.tenantId}:${digest([key.model, [...key.outputs].sort(), key.query])}`;
  const answerKey = (key: AnswerKey) =>
    `${prefix}:answer${answerShape}:${key.tenantId}:${key.collectionId}:${digest(key.request)}`;

  async function get<T>(key: string): Promise<T | undefined> {
    try {
      const value = await redis.get(key);
      return value === null ? undefined : (JSON.parse(value) as T);
    } catch (error) {
      options.onError(error);
      return undefined;
    }
  }
  /**
   * Written on a later turn of the event loop, never in the caller's: nothing waits for a cache write, and
   * made at once it sat on the search's path (serializing the value, hashing its key, the socket write that
   * wakes Redis), before the Milvus call for a query's embedding and before the answer itself went out. So a
   * value must not change after it is put.
   */
  async function put(key: () => string, value: unknown, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    await new Promise((resolve) => setImmediate(resolve));
    try {
      await redis.set(key(), JSON.stringify(value), 'EX', ttlSeconds);
    } catch (error) {
      options.onError(error);
    }
  }

  return {
    getEmbedding: (key) => get(embeddingKey(key)),
    putEmbedding: (key, embedding) => put(() => embeddingKey(key), embedding, options.embeddingTtlSeconds),
    getAnswer: (key) => get(answerKey(key)),
    putAnswer: (key, stored) => put(() => answerKey(key), stored, options.answerTtlSeconds),
  };
}

/**
 * Query embeddings kept in this process, before the shared cache: the newest `entries`, each for `ttlMs`; the
 * oldest go first. Undefined (nothing kept) when either is 0.
 */
export interface EmbeddingMemory {
  recall(key: string): Embedding | undefined;
  remember(key: string, embedding: Embedding): void;
}

export function createEmbeddingMemory(options: {
  entries: number;
  ttlMs: number;
}): EmbeddingMemory | undefined {
  if (options.entries <= 0 || options.ttlMs <= 0) return undefined;
  const kept = new Map<string, { at: number; embedding: Embedding }>();
  return {
    recall(key) {
      const entry = kept.get(key);
      return entry && performance.now() - entry.at < options.ttlMs ? entry.embedding : undefined;
    },
    remember(key, embedding) {
      kept.delete(key);
      if (kept.size >= options.entries) kept.delete(kept.keys().next().value as string);
      kept.set(key, { at: performance.now(), embedding });
    },
  };
}

/** A cache that never hits, for deployments without one. */
export const noSearchCache: SearchCache = {
  getEmbedding: async () => undefined,
  putEmbedding: async () => {},
  getAnswer: async () => undefined,
  putAnswer: async () => {},
};

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}
