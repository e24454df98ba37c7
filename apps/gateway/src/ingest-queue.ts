import { AppError } from '@rag/contracts/app-error';
import {
  type IngestJob,
  ingestJobId,
  ingestQueueName,
  parseIngestJob,
} from '@rag/ingest-contract/ingest-job';
import { completedJobRetention, failedJobRetention } from '@rag/ingest-contract/job-retention';
import type { RedisConnection } from '@rag/redis/redis-connection';
import { injectTraceCarrier } from '@rag/telemetry/trace-carrier';
import { Queue } from 'bullmq';

/** A job as callers build it; the queue adds the trace context. */
export type IngestJobInput = IngestJob extends infer J
  ? J extends IngestJob
    ? Omit<J, 'trace'>
    : never
  : never;

export interface IngestQueue {
  /**
   * Queues the job. A job of the same action (same id) that is still waiting or running makes this a
   * no-op; one that already ended (failed for good, or done) is replaced, so an action asked again runs again.
   */
  enqueue(job: IngestJobInput): Promise<void>;
  /** Whether the job of this action is waiting, delayed or running. */
  isPending(job: IngestJobInput): Promise<boolean>;
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}

export interface IngestQueueOptions {
  connection: RedisConnection;
  prefix: string;
  attempts: number;
  backoffMs: number;
}

const finalStates = new Set<string>(['completed', 'failed']);

/** The producer side of the ingest queue; jobs are validated against the published contract first. */
export function createIngestQueue(options: IngestQueueOptions): IngestQueue {
  const queue = new Queue(ingestQueueName, { connection: options.connection, prefix: options.prefix });
  return {
    async enqueue(job) {
      const parsed = parseIngestJob({ ...job, trace: injectTraceCarrier() });
      if (!parsed.ok)
        throw new AppError('internal', `The gateway built an invalid ingest job: ${parsed.reason}`);
      const payload = parsed.job;
      const jobId = ingestJobId(payload);
      try {
        // BullMQ ignores an add whose id it still holds, and ended jobs are kept for a while.
        const previous = await queue.getJob(jobId);
        if (previous && finalStates.has(await previous.getState())) await previous.remove();
        await queue.add(payload.type, payload, {
          jobId,
          attempts: options.attempts,
          // Jitter spreads the retries of many jobs that failed together (an outage) over time.
          backoff: { type: 'exponential', delay: options.backoffMs, jitter: 0.5 },
          removeOnComplete: completedJobRetention,
          removeOnFail: failedJobRetention,
        });
      } catch (error) {
        throw new AppError('dependency_unavailable', 'The ingest queue (Redis) is unavailable', {
          cause: error,
        });
      }
    },
    async isPending(job) {
      try {
        const state = await queue.getJobState(ingestJobId(job as IngestJob));
        return !finalStates.has(state) && state !== 'unknown';
      } catch (error) {
        throw new AppError('dependency_unavailable', 'The ingest queue (Redis) is unavailable', {
          cause: error,
        });
      }
    },
    async checkHealth() {
      await options.connection.ping();
    },
    close: () => queue.close(),
  };
}
