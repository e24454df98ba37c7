import { findStoredChunks } from '@rag/db/chunk-repository';
import type { Pool } from '@rag/db/pool';
import { dropStaleStagedChunks, findStagedChunks, listChunksAfterSwitch } from '@rag/db/reindex-chunks';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import { storedChunkContexts } from './chunk-budget.js';
import type { ModelKit } from './model-kits.js';
import { splitOverlong, stageCut } from './rechunk.js';
import { buildVectorRows } from './vector-row.js';

/** Chunks read, embedded and written per step of the replay before the switch. */
const replayBatchSize = 512;

type ReindexScope = { id: string; tenantId: string; collectionId: string };

/**
 * Under the collection's writer lock, before the switch: what changed while the documents were embedded
 * reaches the new space. Cut chunks of documents that changed since are dropped; documents whose chunks are
 * missing from the new space and too long for it are cut again; then the new space is made to hold exactly
 * the chunks the collection will have after the switch (orphans and duplicates out, missing ones embedded),
 * as the doctor repairs.
 */
export async function replayIntoTarget(
  deps: { pool: Pool; embedBatchSize: number },
  target: ModelKit,
  reindex: ReindexScope,
): Promise<void> {
  await dropStaleStagedChunks(deps.pool, reindex.id);
  const averageLength = averageChunkLength(await readCollectionIndexStats(deps.pool, reindex.collectionId));
  const before = await compareTarget(deps.pool, target, reindex);
  const plainMissing = before.missing.filter((chunk) => !chunk.staged).map((chunk) => chunk.id);
  for (let i = 0; i < plainMissing.length; i += replayBatchSize) {
    const stored = await findStoredChunks(
      deps.pool,
      reindex.collectionId,
      plainMissing.slice(i, i + replayBatchSize),
    );
    const { cut } = await splitOverlong(deps, target, reindex, stored, averageLength);
    if (cut.length === 0) continue;
    await target.store.replace(cut.flatMap((one) => one.rows));
    await target.store.flush();
    await stageCut(deps.pool, reindex.id, cut);
  }

  const scope = { tenantId: reindex.tenantId, collectionId: reindex.collectionId };
  const check = await compareTarget(deps.pool, target, reindex);
  if (check.problems === 0) return;
  await target.store.deleteByIds(scope, [...check.orphans, ...check.duplicates]);
  const duplicates = new Set(check.duplicates);
  const rebuild = [...check.missing, ...check.expected.filter((chunk) => duplicates.has(chunk.id))];
  for (const staged of [false, true]) {
    const ids = rebuild.filter((chunk) => chunk.staged === staged).map((chunk) => chunk.id);
    for (let i = 0; i < ids.length; i += replayBatchSize) {
      const slice = ids.slice(i, i + replayBatchSize);
      const chunks = staged
        ? await findStagedChunks(deps.pool, reindex.id, slice)
        : await findStoredChunks(deps.pool, reindex.collectionId, slice);
      const contexts = await storedChunkContexts(target.embeddings, chunks);
      const sources = chunks.map((chunk, index) => ({ ...chunk, context: contexts[index] ?? '' }));
      const rows = await buildVectorRows(
        { embeddings: target.embeddings, embedBatchSize: deps.embedBatchSize },
        target.store,
        sources,
        averageLength,
      );
      await target.store.insert(rows);
    }
  }
  await target.store.flush();
}

/** The new space against the chunks the collection will have after the switch, as the doctor compares. */
export async function compareTarget(pool: Pool, target: ModelKit, reindex: ReindexScope) {
  const expected = await listChunksAfterSwitch(pool, reindex.id, reindex.collectionId);
  const vectorIds: string[] = [];
  const scope = { tenantId: reindex.tenantId, collectionId: reindex.collectionId };
  for await (const batch of target.store.listChunks(scope)) {
    vectorIds.push(...batch.map((row) => row.chunkId));
  }
  const inVectors = new Set(vectorIds);
  const wanted = new Set(expected.map((chunk) => chunk.id));
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of vectorIds) (seen.has(id) ? duplicates : seen).add(id);
  const orphans = [...inVectors].filter((id) => !wanted.has(id));
  const missing = expected.filter((chunk) => !inVectors.has(chunk.id));
  return {
    expected,
    orphans,
    missing,
    duplicates: [...duplicates],
    problems: orphans.length + missing.length + duplicates.size,
  };
}
