import { AppError } from '@rag/contracts/app-error';
import {
  type ReindexJob,
  reindexJobId,
  reindexJobSchema,
  reindexQueueName,
} from '@rag/ingest-contract/reindex-job';
import type { RedisConnection } from '@rag/redis/redis-connection';
import { Queue } from 'bullmq';

/** The producer side of the reindex queue (the worker consumes it, see the worker's reindex-worker.ts). */
export interface ReindexQueue {
  enqueue(job: ReindexJob): Promise<void>;
  close(): Promise<void>;
}

export function createReindexQueue(options: { connection: RedisConnection; prefix: string }): ReindexQueue {
  const queue = new Queue(reindexQueueName, { connection: options.connection, prefix: options.prefix });
  return {
    async enqueue(job) {
      const payload = reindexJobSchema.parse(job);
      try {
        await queue.add(payload.type, payload, {
          jobId: reindexJobId(payload),
          attempts: 20,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: true,
        });
      } catch (error) {
        throw new AppError('dependency_unavailable', 'The reindex queue (Redis) is unavailable', {
          cause: error,
        });
      }
    },
    close: () => queue.close(),
  };
}
