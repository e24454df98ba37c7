import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '@rag/contracts/app-error';
import type { RedisConnection } from '@rag/redis/redis-connection';

/**
 * One writer per vector collection at a time, across every worker process: Milvus Lite lost rows when
 * several writers hit one collection and the server crashed, while sequential writes survived. Jobs still
 * extract, chunk and embed concurrently; only the short write phase (Milvus write + flush + the PostgreSQL
 * swap) holds the lock. The lock is a Redis key with a token and a time to live that a heartbeat renews,
 * so a SIGKILLed holder releases it by expiring.
 */
export interface CollectionLock {
  /**
   * Runs `work` holding the collection's lock. The signal aborts once the lock may be lost (its renewal
   * found another token, or Redis could not confirm it before it expires): the work must check it before
   * each write, so a writer that lost its lock stops before it writes next to the new holder.
   */
  withLock<T>(collectionId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export interface CollectionLockOptions {
  redis: RedisConnection;
  prefix: string;
  /** How long a lock outlives a holder that stopped renewing it. */
  ttlMs?: number;
  /** How long to wait for the lock before failing (retryably) so the job comes back later. */
  waitMs?: number;
}

const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const renewScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export function createCollectionLock(options: CollectionLockOptions): CollectionLock {
  const ttlMs = options.ttlMs ?? 30_000;
  const waitMs = options.waitMs ?? 120_000;
  return {
    async withLock(collectionId, work) {
      const key = `${options.prefix}:collection-writer:${collectionId}`;
      const token = randomUUID();
      const deadline = Date.now() + waitMs;
      let pause = 20;
      while ((await options.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
        if (Date.now() > deadline) {
          throw new AppError(
            'dependency_unavailable',
            `Collection ${collectionId} is busy with another writer`,
            {
              retryable: true,
            },
          );
        }
        // Jitter keeps waiting workers from retrying in lockstep.
        await delay(pause + Math.random() * pause);
        pause = Math.min(pause * 2, 500);
      }
      const lost = new AbortController();
      let confirmedAt = Date.now();
      const loseLock = (why: string) =>
        lost.abort(
          new AppError(
            'dependency_unavailable',
            `Lost the writer lock of collection ${collectionId}: ${why}`,
            {
              retryable: true,
            },
          ),
        );
      const heartbeat = setInterval(() => {
        const sentAt = Date.now();
        options.redis.eval(renewScript, 1, key, token, String(ttlMs)).then(
          (renewed) => {
            if (renewed === 1) confirmedAt = sentAt;
            else loseLock('another writer holds it or it expired');
          },
          () => {
            // Unconfirmed for two thirds of its time to live: it may expire before the next try answers.
            if (Date.now() - confirmedAt >= (ttlMs * 2) / 3) loseLock('Redis did not confirm its renewal');
          },
        );
      }, ttlMs / 3);
      try {
        return await work(lost.signal);
      } finally {
        clearInterval(heartbeat);
        await options.redis.eval(releaseScript, 1, key, token).catch(() => {});
      }
    },
  };
}
