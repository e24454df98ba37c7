import { z } from 'zod';

/** A job of the ingest queue that failed for good, as kept on the dead-letter queue. */
export const deadLetterSchema = z.strictObject({
  queue: z.string(),
  jobId: z.string().nullable(),
  jobName: z.string(),
  reason: z.string(),
  attemptsMade: z.number().int().nonnegative(),
  failedAt: z.iso.datetime(),
  /** The job's data as it was queued (inline text replaced by its length and SHA-256), to fix and queue again. */
  data: z.unknown(),
});

export type DeadLetter = z.infer<typeof deadLetterSchema>;
