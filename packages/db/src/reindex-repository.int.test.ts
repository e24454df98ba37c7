import { describe, expect, it } from 'vitest';
import { findCollectionById, insertCollection } from './collection-repository.js';
import { markDocumentDeleting } from './document-repository.js';
import { withTransaction } from './pool.js';
import {
  endReindex,
  findLatestReindex,
  findRunningReindex,
  insertReindex,
  listPendingOldDrops,
  listReindexBatch,
  markOldDropped,
  readCollectionSearchState,
  readDocumentStamps,
  recordReindexProgress,
  switchCollectionModel,
} from './reindex-repository.js';
import {
  modelA as a,
  modelB as b,
  insertReadyDocument,
  moveToModelB,
  useReindexTestDatabase,
} from './test-reindex.js';

const db = useReindexTestDatabase('reindex');

/** A ready document with `chunks` chunks. */
function readyDocument(collectionId: string, tag: string, chunks: number) {
  return insertReadyDocument(
    db.pool,
    collectionId,
    tag,
    Array.from({ length: chunks }, (_, ordinal) => ({
      id: crypto.randomUUID(),
      ordinal,
      text: `${tag} ${ordinal}`,
      startOffset: 0,
      endOffset: 1,
    })),
  );
}

describe('collection reindexes', () => {
  it('runs one at a time, counts the ready documents, pages them in id order, and switches model and version together', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'moving'))!;
    const documents = [
      await readyDocument(collection.id, 'one', 2),
      await readyDocument(collection.id, 'two', 1),
      await readyDocument(collection.id, 'three', 3),
    ];
    const gone = await readyDocument(collection.id, 'gone', 1);
    await markDocumentDeleting(db.pool, 'acme', gone.id);

    const reindex = (await insertReindex(db.pool, moveToModelB(collection.id)))!;
    expect(reindex).toMatchObject({ state: 'running', documentsTotal: 3, documentsDone: 0, from: a, to: b });
    expect(
      await insertReindex(db.pool, { collectionId: collection.id, tenantId: 'acme', to: b }),
    ).toBeUndefined();

    const first = await listReindexBatch(db.pool, collection.id, null, 2);
    const second = await listReindexBatch(db.pool, collection.id, first.at(-1)!.documentId, 2);
    const ids = [...first, ...second].map((d) => d.documentId);
    expect(ids).toEqual(documents.map((d) => d.id).sort());
    expect([...first, ...second].map((d) => d.chunkIds.length).sort()).toEqual([1, 2, 3]);
    // A change moves a document's stamp; a deleted one has none.
    const stamps = await readDocumentStamps(db.pool, [...ids, gone.id]);
    expect(stamps.get(first[0]!.documentId)).toBe(first[0]!.stamp);
    expect(stamps.has(gone.id)).toBe(false);
    await db.pool.query("UPDATE documents SET updated_at = now() + interval '1 second' WHERE id = $1", [
      first[0]!.documentId,
    ]);
    expect((await readDocumentStamps(db.pool, [first[0]!.documentId])).get(first[0]!.documentId)).not.toBe(
      first[0]!.stamp,
    );

    expect(
      await recordReindexProgress(db.pool, reindex.id, { afterDocument: ids[1]!, documents: 2, chunks: 3 }),
    ).toBe(true);
    expect(await findRunningReindex(db.pool, collection.id)).toMatchObject({
      documentsDone: 2,
      chunksDone: 3,
      afterDocument: ids[1],
    });

    const before = await readCollectionSearchState(db.pool, collection.id);
    expect(before.model).toBeUndefined();
    expect(await withTransaction(db.pool, (client) => switchCollectionModel(client, reindex, 60))).toBe(true);
    const after = await readCollectionSearchState(db.pool, collection.id);
    expect(after).toEqual({ indexVersion: before.indexVersion + 1, model: b });
    expect((await findCollectionById(db.pool, 'acme', collection.id))?.model).toEqual(b);
    const switched = (await findLatestReindex(db.pool, collection.id))!;
    expect(switched.state).toBe('switched');
    expect(switched.dropOldAfter!.getTime() - switched.finishedAt!.getTime()).toBeCloseTo(60_000, -3);
    expect((await listPendingOldDrops(db.pool)).map((r) => r.id)).toContain(reindex.id);
    await markOldDropped(db.pool, reindex.id);
    expect((await listPendingOldDrops(db.pool)).map((r) => r.id)).not.toContain(reindex.id);
    // Switched once: neither cancelled nor switched again.
    expect(await endReindex(db.pool, reindex.id, 'cancelled')).toBe(false);
    expect(await withTransaction(db.pool, (client) => switchCollectionModel(client, reindex, 60))).toBe(
      false,
    );
  });

  it('stops recording progress once cancelled, and then lets a new one start', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'cancelled'))!;
    const reindex = (await insertReindex(db.pool, { collectionId: collection.id, tenantId: 'acme', to: b }))!;
    expect(await endReindex(db.pool, reindex.id, 'cancelled')).toBe(true);
    expect(
      await recordReindexProgress(db.pool, reindex.id, {
        afterDocument: crypto.randomUUID(),
        documents: 1,
        chunks: 1,
      }),
    ).toBe(false);
    expect(await findRunningReindex(db.pool, collection.id)).toBeUndefined();
    expect(
      await insertReindex(db.pool, { collectionId: collection.id, tenantId: 'acme', to: a }),
    ).toMatchObject({ state: 'running', to: a });
  });
});
