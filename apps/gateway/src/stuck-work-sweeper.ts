import { findDocument, transitionDocument } from '@rag/db/document-repository';
import type { Pool } from '@rag/db/pool';
import { ingestVersionJob } from '@rag/ingest-acceptance/queued-acceptance';
import type { Logger } from '@rag/telemetry/logger';
import type { IngestQueue } from './ingest-queue.js';

/**
 * The gateway records an action in PostgreSQL (a collection or document marked deleting, a document
 * queued) and then queues its job. When the queue was down in between, or the gateway died, the record
 * stays without a job. The sweeper queues those jobs again once Redis answers, so deletions finish and
 * documents are built without anyone retrying by hand. A queued document whose text travelled only in the
 * lost job (no stored copy) cannot be rebuilt: it fails with a reason instead of waiting for ever.
 * Queueing is idempotent (one job id per action), so several gateways may sweep at once.
 */
export interface StuckWork {
  collections: number;
  deletions: number;
  ingests: number;
  failed: number;
}

export interface SweepOptions {
  pool: Pool;
  queue: IngestQueue;
  /** Records younger than this are left alone: their job is most likely being queued right now. */
  olderThanMs: number;
  /** At most this many records of each kind per sweep. */
  limit?: number;
}

export const lostJobReason =
  'The ingest job was lost while the queue was unavailable; send the document again';

export async function requeueStuckWork(options: SweepOptions): Promise<StuckWork> {
  const { pool, queue } = options;
  const limit = options.limit ?? 500;
  const counts: StuckWork = { collections: 0, deletions: 0, ingests: 0, failed: 0 };

  const collections = await pool.query<{ id: string; tenant_id: string }>(
    'SELECT id, tenant_id FROM collections WHERE deleting ORDER BY id LIMIT $1',
    [limit],
  );
  for (const row of collections.rows) {
    const job = {
      v: 2,
      type: 'delete-collection',
      tenantId: row.tenant_id,
      collectionId: row.id,
    } as const;
    if (await queue.isPending(job)) continue;
    await queue.enqueue(job);
    counts.collections++;
  }

  const deleting = await pool.query<{ id: string; tenant_id: string; collection: string }>(
    `SELECT d.id, d.tenant_id, c.name AS collection FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.status = 'deleting' AND d.updated_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY d.updated_at LIMIT $2`,
    [options.olderThanMs, limit],
  );
  for (const row of deleting.rows) {
    const job = {
      v: 2,
      type: 'delete',
      tenantId: row.tenant_id,
      collection: row.collection,
      documentId: row.id,
    } as const;
    if (await queue.isPending(job)) continue;
    await queue.enqueue(job);
    counts.deletions++;
  }

  // Documents of a collection being deleted go with it.
  const queued = await pool.query<{ id: string; tenant_id: string }>(
    `SELECT d.id, d.tenant_id FROM documents d JOIN collections c ON c.id = d.collection_id
      WHERE d.status = 'queued' AND NOT c.deleting
        AND d.updated_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY d.updated_at LIMIT $2`,
    [options.olderThanMs, limit],
  );
  for (const row of queued.rows) {
    const document = await findDocument(pool, row.tenant_id, row.id);
    if (document?.status !== 'queued') continue;
    const job = ingestVersionJob(document);
    if (document.sourceKey === null) {
      // Its text travelled only in the lost job: nothing to build it from.
      if (await queue.isPending(job)) continue;
      const failed = await transitionDocument(pool, document.id, document.version, ['queued'], {
        status: 'failed',
        error: lostJobReason,
      });
      if (failed) counts.failed++;
      continue;
    }
    if (await queue.isPending(job)) continue;
    await queue.enqueue(job);
    counts.ingests++;
  }
  return counts;
}

/** Sweeps every `intervalMs` until stopped; an outage only logs (the next sweep tries again). */
export function startStuckWorkSweeper(options: SweepOptions & { intervalMs: number; logger: Logger }): {
  stop(): Promise<void>;
} {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = requeueStuckWork(options).then(
      (counts) => {
        if (counts.collections + counts.deletions + counts.ingests + counts.failed > 0) {
          options.logger.info(counts, 'queued the jobs of stuck work again');
        }
      },
      (error: unknown) => options.logger.warn({ err: error }, 'stuck work sweep failed; trying again later'),
    );
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
