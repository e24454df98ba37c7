import { type DeadLetter, deadLetterSchema } from '@rag/ingest-contract/dead-letter';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface DeadLetterQueue {
  add(letter: Omit<DeadLetter, 'queue' | 'failedAt'>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Jobs that failed for good land on `ingest-dead-letter` with the reason and their data as queued, so an
 * operator or the producer can see what was refused and queue a fixed job again. Kept until removed.
 */
export function createDeadLetterQueue(options: { connection: Redis; prefix: string }): DeadLetterQueue {
  const queue = new Queue(deadLetterQueueName, { connection: options.connection, prefix: options.prefix });
  return {
    async add(letter) {
      const entry = deadLetterSchema.parse({
        queue: ingestQueueName,
        failedAt: new Date().toISOString(),
        ...letter,
      });
      // One entry per failed job, even if this runs twice.
      await queue.add('dead-letter', entry, entry.jobId ? { jobId: `dead-${entry.jobId}` } : {});
    },
    close: () => queue.close(),
  };
}
