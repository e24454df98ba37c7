import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { StoredKey } from '@rag/auth/authenticate';
import { AppError } from '@rag/contracts/app-error';
import type { Collection } from '@rag/db/collection-repository';
import type { RedisConnection } from '@rag/redis/redis-connection';

/**
 * What the gateway reads on every request (an API key's verification, a collection's id), kept in memory
 * so a request pays no PostgreSQL round trip (and no write: a key's lookup also stamps its last use).
 *
 * Invalidation is a version check, not a broadcast: every change that must take effect at once (a key
 * revoked, a collection being deleted) sets a new random value of one Redis key, the epoch, before it
 * answers; every lookup reads the epoch (one Redis GET) and uses an entry only when it was cached under
 * the same value and is younger than the TTL. So a revocation holds on every replica from the moment the
 * revoking request answers, and a message lost on the way cannot keep a stale entry alive. While Redis is
 * unreachable nothing is cached or served from the cache (every lookup goes to PostgreSQL); a Redis that
 * lost the key (flushed, restarted empty) gets a new epoch, which drops every entry. The TTL bounds how old
 * an entry gets in any case (and how stale a key's last-use time may be).
 */
export interface RequestCache {
  /** The key with this hash (undefined: unknown, revoked or expired; never cached). */
  key(hash: string, load: () => Promise<StoredKey | undefined>): Promise<StoredKey | undefined>;
  /** The tenant's collection of this name, as searches see it (one being deleted is never cached). */
  collection(
    tenantId: string,
    name: string,
    load: () => Promise<Collection | undefined>,
  ): Promise<Collection | undefined>;
  /**
   * Call after a change that must hold at once on every replica, before answering: a failure to reach
   * Redis is a retryable error, so the caller repeats the (idempotent) change until every replica sees it.
   */
  invalidate(): Promise<void>;
  /**
   * Runs one request's handling (`next`) in a scope that reads the epoch once, starting now, while the
   * handlers before the first lookup (rate limits) run: a request then waits for no Redis round trip of
   * its own for the cache, and its key and collection are checked against the same epoch.
   */
  scope(next: () => void): void;
}

export interface RequestCacheOptions {
  redis: RedisConnection;
  keyPrefix: string;
  /** The longest an entry is used; 0 turns caching off (changes still set a new epoch, for other replicas). */
  ttlMs: number;
  /** Entries kept per kind; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<T> {
  epoch: string;
  at: number;
  value: T;
}

export function createRequestCache(options: RequestCacheOptions): RequestCache {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const epochKey = `${options.keyPrefix}:gateway:cache-epoch`;
  const keys = new Map<string, Entry<StoredKey>>();
  const collections = new Map<string, Entry<Collection>>();

  /** The current epoch; undefined while Redis cannot say (then the cache is bypassed). Never rejects. */
  async function currentEpoch(): Promise<string | undefined> {
    try {
      const epoch = await options.redis.get(epochKey);
      if (epoch) return epoch;
      // No epoch yet, or Redis lost it: start one. Entries of any earlier one never match again.
      const fresh = randomUUID();
      await options.redis.set(epochKey, fresh, 'NX');
      return (await options.redis.get(epochKey)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async function cached<T>(
    map: Map<string, Entry<T>>,
    id: string,
    load: () => Promise<T | undefined>,
    keep: (value: T) => boolean,
  ): Promise<T | undefined> {
    if (options.ttlMs <= 0) return load();
    // The epoch is read before PostgreSQL: an entry can only be stored under an epoch that was current
    // when its row was read, so a change followed by a new epoch always outdates it.
    const epoch = await (requestEpoch.getStore() ?? currentEpoch());
    const entry = map.get(id);
    if (epoch !== undefined && entry && entry.epoch === epoch && now() - entry.at < options.ttlMs) {
      if (keep(entry.value)) return entry.value;
    }
    map.delete(id);
    const value = await load();
    if (epoch !== undefined && value !== undefined && keep(value)) {
      if (map.size >= maxEntries) map.delete(map.keys().next().value as string);
      map.set(id, { epoch, at: now(), value });
    }
    return value;
  }

  const requestEpoch = new AsyncLocalStorage<Promise<string | undefined>>();

  return {
    scope: (next) => (options.ttlMs > 0 ? requestEpoch.run(currentEpoch(), next) : next()),
    key: (hash, load) => cached(keys, hash, load, (key) => !key.expiresAt || key.expiresAt.getTime() > now()),
    collection: (tenantId, name, load) =>
      cached(collections, `${tenantId}\u0000${name}`, load, (collection) => !collection.deleting),
    async invalidate() {
      keys.clear();
      collections.clear();
      try {
        await options.redis.set(epochKey, randomUUID());
      } catch (error) {
        throw new AppError(
          'dependency_unavailable',
          'The change is saved, but Redis could not be told, so other gateway replicas may not see it yet; repeat the request',
          { cause: error, retryable: true },
        );
      }
    },
  };
}

/** No cache: every lookup reads PostgreSQL. */
export const uncachedRequests: RequestCache = {
  key: (_hash, load) => load(),
  collection: (_tenantId, _name, load) => load(),
  invalidate: async () => {},
  scope: (next) => next(),
};
