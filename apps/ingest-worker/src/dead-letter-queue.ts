import { type DeadLetter, deadLetterSchema } from '@rag/ingest-contract/dead-letter';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { deadLetterRetention, withoutInlineText } from '@rag/ingest-contract/job-retention';
import type { RedisConnection } from '@rag/redis/redis-connection';
import { Queue } from 'bullmq';

export interface DeadLetterQueue {
  add(letter: Omit<DeadLetter, 'queue' | 'failedAt'>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Jobs that failed for good land on `ingest-dead-letter` with the reason and their data as queued (inline
 * text replaced by its length and hash), so an operator or the producer can see what was refused and queue
 * a fixed job again. Letters older than the retention age, and the oldest beyond its count, are removed as
 * new ones arrive, so the queue (which nothing consumes) stays bounded.
 */
export function createDeadLetterQueue(options: {
  connection: RedisConnection;
  prefix: string;
  retention?: { ageMs?: number; count?: number };
}): DeadLetterQueue {
  const queue = new Queue(deadLetterQueueName, { connection: options.connection, prefix: options.prefix });
  const retention = { ...deadLetterRetention, ...options.retention };

  async function trim(): Promise<void> {
    await queue.clean(retention.ageMs, 1000, 'wait');
    const excess = (await queue.getWaitingCount()) - retention.count;
    if (excess <= 0) return;
    // Oldest first.
    for (const job of await queue.getJobs(['wait'], 0, excess - 1, true)) await job.remove();
  }
  return {
    async add(letter) {
      const entry = deadLetterSchema.parse({
        queue: ingestQueueName,
        failedAt: new Date().toISOString(),
        ...letter,
        data: withoutInlineText(letter.data),
      });
      // One entry per failed job, even if this runs twice.
      await queue.add('dead-letter', entry, entry.jobId ? { jobId: `dead-${entry.jobId}` } : {});
      await trim();
    },
    close: () => queue.close(),
  };
}
