import { z } from 'zod';

/**
 * The queue of collection reindexes (moving a collection to another embedding model). Its jobs only name a
 * reindex: the state is the collection_reindexes row in PostgreSQL, so a job run twice, or again after a
 * worker died, carries on from the progress recorded there.
 */
export const reindexQueueName = 'collection-reindex';

export const reindexJobSchema = z.strictObject({
  /** `build`: embed into the new model's space and switch; `cleanup`: drop the vectors a reindex leaves behind. */
  type: z.enum(['build', 'cleanup']),
  reindexId: z.string().uuid(),
});

export type ReindexJob = z.infer<typeof reindexJobSchema>;

/** One job per reindex and type at a time; finished jobs are removed, so the same job can be queued again. */
export function reindexJobId(job: ReindexJob): string {
  return `${job.type}-${job.reindexId}`;
}
