import { isAppError, toAppError } from '@rag/contracts/app-error';
import { type IngestJob, ingestJobSchema, ingestQueueName } from '@rag/contracts/ingest-job';
import type { Logger } from '@rag/telemetry/logger';
import { withConsumerSpan } from '@rag/telemetry/trace-carrier';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Counter, Histogram } from 'prom-client';
import type { IngestProcessor } from './ingest-processor.js';

export interface IngestWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  processor: IngestProcessor;
  logger: Logger;
  jobsTotal: Counter<'type' | 'outcome'>;
  jobDuration: Histogram<'type'>;
}

/**
 * Consumes the ingest queue. Transient failures (retryable AppErrors: embedding service, Milvus,
 * PostgreSQL down) are retried with BullMQ's backoff; a malformed job or a bad document fails at once
 * with UnrecoverableError, and the document shows `failed` with the reason.
 */
export function createIngestWorker(options: IngestWorkerOptions): Worker {
  const { processor, logger } = options;

  async function handle(job: Job): Promise<string> {
    const trace = (job.data as { trace?: Record<string, string> } | undefined)?.trace;
    const carrier = trace && typeof trace === 'object' ? trace : undefined;
    return withConsumerSpan(`ingest ${job.name}`, carrier, { 'messaging.message.id': job.id ?? '' }, () =>
      handleInSpan(job),
    );
  }

  async function handleInSpan(job: Job): Promise<string> {
    const parsed = ingestJobSchema.safeParse(job.data);
    if (!parsed.success) {
      options.jobsTotal.inc({ type: 'invalid', outcome: 'failed' });
      const reason = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new UnrecoverableError(`Invalid ingest job: ${reason}`);
    }
    const data: IngestJob = parsed.data;
    const stop = options.jobDuration.startTimer({ type: data.type });
    const log = logger.child({ job_id: job.id, type: data.type, attempt: job.attemptsMade + 1 });
    try {
      const outcome = await processor.run(data);
      options.jobsTotal.inc({ type: data.type, outcome });
      log.info({ outcome }, 'job done');
      return outcome;
    } catch (thrown) {
      const error = toAppError(thrown);
      const lastAttempt = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: thrown, code: error.code, last_attempt: lastAttempt }, 'job failed');
      if (lastAttempt) {
        options.jobsTotal.inc({ type: data.type, outcome: 'failed' });
        await processor.markFailed(data, error.message);
      }
      if (!error.retryable) throw new UnrecoverableError(error.message);
      throw isAppError(thrown) ? thrown : error;
    } finally {
      stop();
    }
  }

  return new Worker(ingestQueueName, handle, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    autorun: false,
  });
}
