import { toAppError } from '@rag/contracts/app-error';
import type { Pool } from '@rag/db/pool';
import { dropStagedChunks } from '@rag/db/reindex-chunks';
import { endReindex, listPendingOldDrops, listRunningReindexes } from '@rag/db/reindex-repository';
import {
  type ReindexJob,
  reindexJobId,
  reindexJobSchema,
  reindexQueueName,
} from '@rag/ingest-contract/reindex-job';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { Logger } from '@rag/telemetry/logger';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { CollectionReindexer } from './collection-reindex.js';

/** Attempts of a reindex job; each carries on from the progress recorded in PostgreSQL. */
const attempts = 20;

export function createReindexQueue(options: { connection: RedisConnection; prefix: string }) {
  const queue = new Queue(reindexQueueName, { connection: options.connection, prefix: options.prefix });
  return {
    queue,
    async add(job: ReindexJob, delayMs = 0): Promise<void> {
      await queue.add(job.type, job, {
        jobId: reindexJobId(job),
        delay: Math.max(0, Math.round(delayMs)),
        attempts,
        backoff: { type: 'exponential', delay: 1000 },
        // Removed once ended, so the same job can be queued again (a worker start re-queues lost ones).
        removeOnComplete: true,
        removeOnFail: true,
      });
    },
    close: () => queue.close(),
  };
}

export type ReindexQueue = ReturnType<typeof createReindexQueue>;

/**
 * Consumes the reindex queue, one job at a time per worker. A job whose worker died is taken back after its
 * lock expires and carries on where the dead one stopped; a reindex whose job failed for good is marked failed.
 */
export function createReindexWorker(options: {
  connection: RedisConnection;
  prefix: string;
  pool: Pool;
  reindexer: CollectionReindexer;
  logger: Logger;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}): Worker {
  async function handle(job: Job): Promise<string> {
    const parsed = reindexJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Invalid reindex job: ${parsed.error.message}`);
    const log = options.logger.child({ job_id: job.id, reindex_id: parsed.data.reindexId });
    try {
      const outcome = await options.reindexer.run(parsed.data);
      log.info({ outcome }, 'reindex job done');
      return outcome;
    } catch (thrown) {
      const error = toAppError(thrown);
      const last = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: thrown, last_attempt: last }, 'reindex job failed');
      if (last && parsed.data.type === 'build') {
        await endReindex(options.pool, parsed.data.reindexId, 'failed', error.message);
        await dropStagedChunks(options.pool, parsed.data.reindexId);
      }
      if (!error.retryable) throw new UnrecoverableError(error.message);
      throw error;
    }
  }
  return new Worker(reindexQueueName, handle, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: 1,
    autorun: false,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
    maxStalledCount: attempts,
  });
}

/**
 * Queues the work PostgreSQL says is left (running reindexes, old vectors still to drop), in case Redis lost
 * the jobs; a job already queued under the same id is left as it is.
 */
export async function requeueReindexes(pool: Pool, queue: ReindexQueue): Promise<number> {
  const running = await listRunningReindexes(pool);
  for (const reindex of running) await queue.add({ type: 'build', reindexId: reindex.id });
  const drops = await listPendingOldDrops(pool);
  for (const reindex of drops) {
    const delay = (reindex.dropOldAfter?.getTime() ?? 0) - Date.now();
    await queue.add({ type: 'cleanup', reindexId: reindex.id }, delay);
  }
  return running.length + drops.length;
}
