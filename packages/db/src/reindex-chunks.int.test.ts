import { describe, expect, it } from 'vitest';
import { type ChunkRecord, findStoredChunks, listDocumentChunks } from './chunk-repository.js';
import { insertCollection } from './collection-repository.js';
import { findDocument, startNewVersion } from './document-repository.js';
import { swapDocumentVersion } from './document-version.js';
import { withTransaction } from './pool.js';
import {
  applyStagedChunks,
  dropStaleStagedChunks,
  findStagedChunks,
  listChunksAfterSwitch,
  readRechunkDocuments,
  readVersionChunks,
  stageDocumentChunks,
} from './reindex-chunks.js';
import { insertReindex, switchCollectionModel } from './reindex-repository.js';
import { readCollectionIndexStats } from './term-stats-repository.js';
import { insertReadyDocument, moveToModelB, useReindexTestDatabase } from './test-reindex.js';

const db = useReindexTestDatabase('reindex_chunks');

function chunks(tag: string, count: number, firstTerm: number): ChunkRecord[] {
  return Array.from({ length: count }, (_, ordinal) => ({
    id: crypto.randomUUID(),
    ordinal,
    text: `${tag} ${ordinal}`,
    startOffset: ordinal * 10,
    endOffset: ordinal * 10 + tag.length + 2,
    tokenIds: [firstTerm + ordinal, firstTerm + ordinal + 1],
  }));
}

function readyDocument(collectionId: string, tag: string, count: number) {
  return insertReadyDocument(db.pool, collectionId, tag, chunks(tag, count, 100));
}

describe('chunks cut again for a reindex', () => {
  it('wait beside the served chunks, go stale when their document changes, and replace its rows at the switch', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'recut'))!;
    const one = await readyDocument(collection.id, 'one', 2);
    const two = await readyDocument(collection.id, 'two', 1);
    const reindex = (await insertReindex(db.pool, moveToModelB(collection.id)))!;
    const servedBefore = await readCollectionIndexStats(db.pool, collection.id);
    expect(servedBefore.chunkCount).toBe(3);

    const found = await readRechunkDocuments(db.pool, collection.id, [one.id, two.id]);
    const oneNow = found.find((d) => d.id === one.id);
    const twoNow = found.find((d) => d.id === two.id);
    expect(oneNow).toMatchObject({ version: 1, tenantId: 'acme', collectionId: collection.id });
    expect((await readVersionChunks(db.pool, one.id, 1)).map((c) => c.text)).toEqual(['one 0', 'one 1']);

    const oneCut = chunks('one-cut', 4, 500);
    const twoCut = chunks('two-cut', 2, 700);
    await stageDocumentChunks(db.pool, reindex.id, oneNow!, oneCut);
    await stageDocumentChunks(db.pool, reindex.id, twoNow!, twoCut);
    // Staged again: the earlier rows of the document are replaced, not doubled.
    await stageDocumentChunks(db.pool, reindex.id, oneNow!, oneCut);

    // Nothing served changed: the same chunks, the same statistics.
    expect(await readCollectionIndexStats(db.pool, collection.id)).toEqual(servedBefore);
    expect((await readVersionChunks(db.pool, one.id, 1)).map((c) => c.text)).toEqual(['one 0', 'one 1']);
    const staged = await findStagedChunks(db.pool, reindex.id, [oneCut[0]!.id]);
    expect(staged).toMatchObject([{ chunkId: oneCut[0]!.id, text: 'one-cut 0', documentId: one.id }]);

    // `two` gets a new version meanwhile: its cut chunks are stale and drop out.
    const bumped = await startNewVersion(db.pool, two.id, {
      title: null,
      contentHash: 'two-v2',
      metadata: {},
      acl: null,
      source: { sourceKey: null, mediaType: 'text/plain', filename: null },
    });
    expect(bumped).toBeTruthy();
    const twoV2 = chunks('two-v2', 1, 900);
    await swapDocumentVersion(
      db.pool,
      { id: two.id, tenantId: 'acme', collectionId: collection.id, version: 2 },
      twoV2,
    );
    const afterSwitch = await listChunksAfterSwitch(db.pool, reindex.id, collection.id);
    expect(afterSwitch.filter((c) => c.staged).map((c) => c.id)).toEqual(
      expect.arrayContaining(oneCut.map((c) => c.id)),
    );
    expect(afterSwitch.filter((c) => c.documentId === two.id)).toEqual([
      { id: twoV2[0]!.id, documentId: two.id, staged: false },
    ]);
    expect(afterSwitch).toHaveLength(oneCut.length + 1);
    expect(await dropStaleStagedChunks(db.pool, reindex.id)).toBe(1);
    expect(
      await findStagedChunks(
        db.pool,
        reindex.id,
        twoCut.map((c) => c.id),
      ),
    ).toEqual([]);

    // The switch: model, index version and `one`'s chunks in one transaction.
    const recut = await withTransaction(db.pool, async (client) => {
      expect(await switchCollectionModel(client, reindex, 60)).toBe(true);
      return applyStagedChunks(client, reindex.id);
    });
    expect(recut).toBe(1);
    expect((await readVersionChunks(db.pool, one.id, 1)).map((c) => c.id)).toEqual(oneCut.map((c) => c.id));
    expect((await findDocument(db.pool, 'acme', one.id))?.chunkCount).toBe(4);
    expect((await readVersionChunks(db.pool, two.id, 2)).map((c) => c.id)).toEqual([twoV2[0]!.id]);
    // The served rows read as the kept ones did: the same fields, heading path and term ids.
    expect(staged[0]).toMatchObject({ headingPath: [], tokenIds: [500, 501], collectionId: collection.id });
    expect(await findStoredChunks(db.pool, collection.id, [oneCut[0]!.id])).toEqual(staged);
    expect(await listDocumentChunks(db.pool, one.id, 1, { afterOrdinal: 0, limit: 2 })).toEqual(
      (await readVersionChunks(db.pool, one.id, 1)).slice(1, 3),
    );
    const stats = await readCollectionIndexStats(db.pool, collection.id);
    expect(stats.chunkCount).toBe(5);
    expect(stats.totalTokens).toBe(10);
    expect(stats.indexVersion).toBeGreaterThan(servedBefore.indexVersion);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM reindex_chunks');
    expect(rows[0].n).toBe(0);
    // The terms of the old chunks left the BM25 statistics; the new ones are counted.
    const terms = await db.pool.query<{ token_id: number }>(
      'SELECT token_id FROM collection_term_stats WHERE collection_id = $1 ORDER BY token_id',
      [collection.id],
    );
    expect(terms.rows.map((r) => r.token_id)).toEqual([500, 501, 502, 503, 504, 900, 901]);
  });
});
