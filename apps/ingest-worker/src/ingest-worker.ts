import { toAppError } from '@rag/contracts/app-error';
import { publicErrorText } from '@rag/contracts/public-error';
import { ingestQueueName, parseIngestJob } from '@rag/ingest-contract/ingest-job';
import { withoutInlineText } from '@rag/ingest-contract/job-retention';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { Logger } from '@rag/telemetry/logger';
import { withConsumerSpan } from '@rag/telemetry/trace-carrier';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Counter, Histogram } from 'prom-client';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type { IngestProcessor } from './ingest-processor.js';

export interface IngestWorkerOptions {
  connection: RedisConnection;
  prefix: string;
  concurrency: number;
  processor: IngestProcessor;
  deadLetters: DeadLetterQueue;
  logger: Logger;
  jobsTotal: Counter<'type' | 'outcome'>;
  jobDuration: Histogram<'type'>;
  /** How long a job's lock lasts without renewal: a killed worker's job is taken back after about this. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often a job may be taken back from a dead worker before it fails; every retry is safe. */
  maxStalledCount?: number;
}

/**
 * Consumes the ingest queue. Transient failures (retryable AppErrors: embedding service, Milvus,
 * PostgreSQL, storage down) are retried with the job's backoff; a malformed job or a bad document fails at
 * once with UnrecoverableError. Every final failure goes to the dead-letter queue with its reason, and the
 * document (if the job names one) shows `failed` with the error's code and a message safe for its tenant.
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
    const parsed = parseIngestJob(job.data);
    if (!parsed.ok) {
      options.jobsTotal.inc({ type: 'invalid', outcome: 'failed' });
      const reason = `Invalid ingest job: ${parsed.reason}`;
      logger.warn({ job_id: job.id, reason }, 'invalid job');
      // The job's shape is its producer's own input: the reason is safe to show.
      await processor.markInvalid(job.data, `validation_failed: ${reason}`);
      await deadLetter(job, reason);
      throw new UnrecoverableError(reason);
    }
    const data = parsed.job;
    const stop = options.jobDuration.startTimer({ type: data.type });
    const log = logger.child({ job_id: job.id, type: data.type, attempt: job.attemptsMade + 1 });
    try {
      const outcome = await processor.run(data);
      options.jobsTotal.inc({ type: data.type, outcome });
      log.info({ outcome }, 'job done');
      await keepReferencesOnly(job);
      return outcome;
    } catch (thrown) {
      const error = toAppError(thrown);
      const lastAttempt = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      log.warn({ err: thrown, code: error.code, last_attempt: lastAttempt }, 'job failed');
      if (lastAttempt) {
        options.jobsTotal.inc({ type: data.type, outcome: 'failed' });
        // The document and its `document.failed` event get the code and a safe message; the raw cause is
        // in the log line above and in the dead letter, both under the job id.
        await processor.markFailed(data, publicErrorText(error, `job ${job.id}`));
        await deadLetter(job, error.message);
      }
      if (!error.retryable) throw new UnrecoverableError(error.message);
      throw error;
    } finally {
      stop();
    }
  }

  async function deadLetter(job: Job, reason: string): Promise<void> {
    await options.deadLetters.add({
      jobId: job.id ?? null,
      jobName: job.name,
      reason,
      attemptsMade: job.attemptsMade + 1,
      data: job.data,
    });
    await keepReferencesOnly(job);
  }

  /**
   * An ended job stays in Redis for a while (see job-retention): it keeps ids and storage keys, not the
   * document's text. A failure here only leaves the text until the retention removes the job.
   */
  async function keepReferencesOnly(job: Job): Promise<void> {
    const kept = withoutInlineText(job.data);
    if (kept !== job.data) await job.updateData(kept).catch(() => {});
  }

  return new Worker(ingestQueueName, handle, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    autorun: false,
    ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
    maxStalledCount: options.maxStalledCount ?? 10,
  });
}
