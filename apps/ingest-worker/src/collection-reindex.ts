import { AppError } from '@rag/contracts/app-error';
import { findStoredChunks } from '@rag/db/chunk-repository';
import { findCollectionById } from '@rag/db/collection-repository';
import { type Pool, withTransaction } from '@rag/db/pool';
import { applyStagedChunks, dropStagedChunks } from '@rag/db/reindex-chunks';
import {
  type CollectionReindex,
  endReindex,
  findReindex,
  findRunningReindex,
  listReindexBatch,
  markOldDropped,
  readDocumentStamps,
  recordReindexProgress,
  switchCollectionModel,
} from '@rag/db/reindex-repository';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import type { ReindexJob } from '@rag/ingest-contract/reindex-job';
import type { Logger } from '@rag/telemetry/logger';
import type { ChunkVectorStore, VectorScope } from '@rag/vector-store/chunk-vector-store';
import { storedChunkContexts } from './chunk-budget.js';
import type { CollectionLock } from './collection-lock.js';
import type { ModelKit, ModelKits } from './model-kits.js';
import { splitOverlong, stageCut } from './rechunk.js';
import { compareTarget, replayIntoTarget } from './reindex-replay.js';
import { buildVectorRows } from './vector-row.js';

export interface CollectionReindexerDeps {
  pool: Pool;
  kits: ModelKits;
  lock: CollectionLock;
  logger: Logger;
  embedBatchSize: number;
  /** Documents embedded per step; progress is recorded (and a cancel noticed) after each. */
  batchDocuments: number;
  /** How long the old model's vectors stay after the switch (searches that started before it read them). */
  keepOldSeconds: number;
  /** Queues the cleanup of the old vectors, to run after `delayMs`. */
  scheduleCleanup: (reindexId: string, delayMs: number) => Promise<void>;
}

export type ReindexOutcome = 'switched' | 'cancelled' | 'failed' | 'cleaned' | 'nothing';

/**
 * Moves a collection to another embedding model while the old model keeps serving it:
 *
 * 1. every ready document's chunks, as PostgreSQL keeps them (no re-parse), are embedded with the new model
 *    into its own vector space, a batch of documents at a time, progress recorded in PostgreSQL after each
 *    (a worker that died carries on from there); a document that changed while its batch was embedded is
 *    left for step 2. A document with a chunk longer than the new model's input (its tokenizer counts more
 *    tokens than the model takes) is cut again with the new model's chunker from the extracted text its
 *    chunks hold (rechunk.ts); its new chunks wait in `reindex_chunks` under new ids while the old model
 *    keeps serving the old ones;
 * 2. under the collection's writer lock (ingestion waits), the new space is compared with the chunks the
 *    collection will have after the switch and made to match, as the doctor repairs: what was written
 *    meanwhile (new documents and versions, deletes, field changes, which drop the document's rows from the
 *    new space while a reindex runs) is replayed here, documents among them too long for the new model cut
 *    again; then, in one transaction, the waiting chunks replace their documents' rows and the collection's
 *    model and index version change, so every search and every write after it uses the new model with its
 *    chunks, and cursors of the old one answer 409;
 * 3. after `keepOldSeconds` the collection's vectors in the old space are dropped.
 */
export function createCollectionReindexer(deps: CollectionReindexerDeps) {
  async function run(job: ReindexJob): Promise<ReindexOutcome> {
    const reindex = await findReindex(deps.pool, job.reindexId);
    if (!reindex) return 'nothing';
    if (job.type === 'cleanup') return cleanup(reindex);
    if (reindex.state === 'switched' && reindex.oldDroppedAt === null) {
      // A worker that died between the switch and queueing the cleanup: queued here.
      await deps.scheduleCleanup(reindex.id, (reindex.dropOldAfter?.getTime() ?? 0) - Date.now());
      return 'nothing';
    }
    if (reindex.state !== 'running') return 'nothing';
    try {
      return await build(reindex);
    } catch (error) {
      const appError = error instanceof AppError ? error : undefined;
      if (appError?.retryable ?? !appError) throw error;
      // A model no longer served, a collection gone: nothing a retry changes.
      await endReindex(deps.pool, reindex.id, 'failed', (error as Error).message);
      await cleanupTarget(reindex);
      return 'failed';
    }
  }

  async function build(reindex: CollectionReindex): Promise<ReindexOutcome> {
    const collection = await findCollectionById(deps.pool, reindex.tenantId, reindex.collectionId);
    if (!collection || collection.deleting) {
      throw new AppError('not_found', 'The collection was deleted while it was reindexed');
    }
    const target = await deps.kits.forModel(reindex.to.name);
    if (target.model.info.manifestHash !== reindex.to.manifestHash) {
      throw new AppError(
        'conflict',
        `The manifest of ${reindex.to.name} changed while the collection was reindexed; start again`,
      );
    }
    const scope: VectorScope = { tenantId: reindex.tenantId, collectionId: reindex.collectionId };
    // A fresh start: vectors of an earlier, cancelled or failed, attempt on this model go first.
    if (reindex.afterDocument === null) {
      await deleteCollectionVectors(target.store, scope);
      await dropStagedChunks(deps.pool, reindex.id);
    }

    let after = reindex.afterDocument;
    for (;;) {
      const batch = await listReindexBatch(deps.pool, reindex.collectionId, after, deps.batchDocuments);
      if (batch.length === 0) break;
      const written = await embedBatch(target, reindex, batch);
      after = batch.at(-1)!.documentId;
      const running = await recordReindexProgress(deps.pool, reindex.id, {
        afterDocument: after,
        documents: batch.length,
        chunks: written,
      });
      if (!running) return cancelled(reindex);
    }

    const switched = await deps.lock.withLock(reindex.collectionId, async (signal) => {
      const current = await findReindex(deps.pool, reindex.id);
      if (current?.state !== 'running') return false;
      // Replays what was written meanwhile, then checks that the new space holds exactly the chunks the
      // collection will have after the switch.
      await replayIntoTarget(deps, target, reindex);
      const problems = (await compareTarget(deps.pool, target, reindex)).problems;
      if (problems > 0) {
        throw new AppError(
          'dependency_unavailable',
          `The new index differs from PostgreSQL after the repair (${problems} chunks); trying again`,
          { retryable: true },
        );
      }
      signal.throwIfAborted();
      return withTransaction(deps.pool, async (client) => {
        if (!(await switchCollectionModel(client, current, deps.keepOldSeconds))) return false;
        return { recut: await applyStagedChunks(client, reindex.id) };
      });
    });
    if (!switched) return cancelled(reindex);
    deps.logger.info(
      {
        reindex_id: reindex.id,
        collection_id: reindex.collectionId,
        from: reindex.from?.name,
        to: reindex.to.name,
        documents_cut_again: switched.recut,
      },
      'collection switched to its new model',
    );
    await deps.scheduleCleanup(reindex.id, deps.keepOldSeconds * 1000);
    return 'switched';
  }

  /** Embeds one batch of documents into the new space; answers how many chunks it wrote. */
  async function embedBatch(
    target: ModelKit,
    reindex: CollectionReindex,
    batch: Array<{ documentId: string; chunkIds: string[]; stamp: string }>,
  ): Promise<number> {
    const stored = await findStoredChunks(
      deps.pool,
      reindex.collectionId,
      batch.flatMap((document) => document.chunkIds),
    );
    const averageLength = averageChunkLength(await readCollectionIndexStats(deps.pool, reindex.collectionId));
    // Documents the new model would cut short are cut again; the others keep their chunks.
    const { kept: chunks, cut } = await splitOverlong(deps, target, reindex, stored, averageLength);
    const contexts = await storedChunkContexts(target.embeddings, chunks);
    const rows = await buildVectorRows(
      { embeddings: target.embeddings, embedBatchSize: deps.embedBatchSize },
      target.store,
      chunks.map((chunk, index) => ({ ...chunk, context: contexts[index] ?? '' })),
      averageLength,
    );
    return deps.lock.withLock(reindex.collectionId, async (signal) => {
      // Documents that changed since they were read are left out: the replay before the switch builds them.
      const stamps = await readDocumentStamps(
        deps.pool,
        batch.map((document) => document.documentId),
      );
      const unchanged = new Set(
        batch
          .filter((document) => stamps.get(document.documentId) === document.stamp)
          .map((d) => d.documentId),
      );
      // A document cut again must also be as it was when it was cut.
      const cutKept = cut.filter(
        (one) => unchanged.has(one.document.id) && stamps.get(one.document.id) === one.document.stamp,
      );
      const kept = [
        ...rows.filter((row) => unchanged.has(row.documentId)),
        ...cutKept.flatMap((one) => one.rows),
      ];
      if (kept.length === 0) return 0;
      signal.throwIfAborted();
      // An upsert: a batch embedded again after a worker died replaces its rows rather than doubling them.
      await target.store.replace(kept);
      signal.throwIfAborted();
      await target.store.flush();
      await stageCut(deps.pool, reindex.id, cutKept);
      return kept.length;
    });
  }

  async function cancelled(reindex: CollectionReindex): Promise<ReindexOutcome> {
    await cleanupTarget(reindex);
    deps.logger.info({ reindex_id: reindex.id }, 'reindex cancelled; the old model keeps serving');
    return 'cancelled';
  }

  /** The vectors a reindex that did not switch wrote into the new space, unless a newer reindex uses it. */
  async function cleanupTarget(reindex: CollectionReindex): Promise<void> {
    await dropStagedChunks(deps.pool, reindex.id);
    const collection = await findCollectionById(deps.pool, reindex.tenantId, reindex.collectionId);
    if (!collection) return;
    await deps.lock.withLock(reindex.collectionId, async () => {
      const running = await findRunningReindex(deps.pool, reindex.collectionId);
      if (running?.to.name === reindex.to.name) return;
      const current = await findCollectionById(deps.pool, reindex.tenantId, reindex.collectionId);
      if (current?.model?.name === reindex.to.name) return;
      const target = await deps.kits.forModel(reindex.to.name);
      await deleteCollectionVectors(target.store, {
        tenantId: reindex.tenantId,
        collectionId: reindex.collectionId,
      });
    });
  }

  /** After a switch's grace period: the collection's vectors in the old model's space. */
  async function cleanup(reindex: CollectionReindex): Promise<ReindexOutcome> {
    if (reindex.state === 'cancelled' || reindex.state === 'failed') {
      await cleanupTarget(reindex);
      return 'cleaned';
    }
    if (reindex.state !== 'switched' || reindex.oldDroppedAt !== null || !reindex.from) return 'nothing';
    // Queued with the grace period as its delay; a clock ahead of PostgreSQL's waits out the difference.
    const early = (reindex.dropOldAfter?.getTime() ?? 0) - Date.now();
    if (early > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(early, 60_000)));
    const from = reindex.from;
    const dropped = await deps.lock.withLock(reindex.collectionId, async () => {
      const collection = await findCollectionById(deps.pool, reindex.tenantId, reindex.collectionId);
      const running = await findRunningReindex(deps.pool, reindex.collectionId);
      // Moved back to the old model meanwhile: its vectors there are the collection's own again.
      if (collection && collection.model?.name !== from.name && running?.to.name !== from.name) {
        const old = await deps.kits.forModel(from.name).catch((error: unknown) => {
          // A collection moved off a model that is no longer served: its space cannot be named without the
          // model's dimension, so its vectors stay (the worker queues this again when it starts).
          if (error instanceof AppError && error.code === 'not_found') return undefined;
          throw error;
        });
        if (!old) return false;
        await deleteCollectionVectors(old.store, {
          tenantId: reindex.tenantId,
          collectionId: reindex.collectionId,
        });
      }
      await markOldDropped(deps.pool, reindex.id);
      return true;
    });
    if (!dropped) {
      deps.logger.warn(
        { reindex_id: reindex.id, model: from.name },
        "the old model's vectors were kept: no embedding service serves that model now",
      );
      return 'nothing';
    }
    deps.logger.info({ reindex_id: reindex.id, model: from.name }, "the old model's vectors were dropped");
    return 'cleaned';
  }

  return { run };
}

export type CollectionReindexer = ReturnType<typeof createCollectionReindexer>;

/** Deletes every vector of a collection in one space. */
export async function deleteCollectionVectors(store: ChunkVectorStore, scope: VectorScope): Promise<void> {
  const ids: string[] = [];
  for await (const batch of store.listChunks(scope)) ids.push(...batch.map((row) => row.chunkId));
  if (ids.length === 0) return;
  await store.deleteByIds(scope, [...new Set(ids)]);
  await store.flush();
}
