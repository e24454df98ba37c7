import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError } from '@rag/contracts/app-error';
import type { Redis } from 'ioredis';

/**
 * One writer per vector collection at a time, across every worker process: Milvus Lite lost rows when
 * several writers hit one collection and the server crashed, while sequential writes survived. Jobs still
 * extract, chunk and embed concurrently; only the short write phase (Milvus write + flush + the PostgreSQL
 * swap) holds the lock. The lock is a Redis key with a token and a time to live that a heartbeat renews,
 * so a SIGKILLed holder releases it by expiring.
 */
export interface CollectionLock {
  withLock<T>(collectionId: string, work: () => Promise<T>): Promise<T>;
}

export interface CollectionLockOptions {
  redis: Redis;
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
      const heartbeat = setInterval(() => {
        options.redis.eval(renewScript, 1, key, token, String(ttlMs)).catch(() => {});
      }, ttlMs / 3);
      try {
        return await work();
      } finally {
        clearInterval(heartbeat);
        await options.redis.eval(releaseScript, 1, key, token).catch(() => {});
      }
    },
  };
}
