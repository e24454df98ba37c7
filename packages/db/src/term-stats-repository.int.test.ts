import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceChunks } from './chunk-repository.js';
import { deleteCollection, insertCollection } from './collection-repository.js';
import { deleteDocumentRow, insertDocument, transitionDocument } from './document-repository.js';
import { migrate } from './migrate.js';
import { withTransaction } from './pool.js';
import { insertTenant } from './tenant-repository.js';
import {
  averageChunkLength,
  readCollectionIndexStats,
  readCollectionTermStats,
} from './term-stats-repository.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('termstats', migrate);
  await insertTenant(db.pool, 'acme', 'Acme');
});
afterAll(async () => {
  await db.drop();
});

let nextChunk = 0;
function chunk(ordinal: number, tokenIds: number[] | undefined) {
  nextChunk += 1;
  const id = `00000000-0000-4000-8000-${String(nextChunk).padStart(12, '0')}`;
  return {
    id,
    ordinal,
    text: `chunk ${ordinal}`,
    startOffset: 0,
    endOffset: 7,
    ...(tokenIds ? { tokenIds } : {}),
  };
}

async function newDocument(collectionId: string, externalId: string) {
  const doc = await insertDocument(db.pool, {
    tenantId: 'acme',
    collectionId,
    externalId,
    title: null,
    contentHash: externalId,
    metadata: {},
    acl: null,
  });
  if (!doc) throw new Error('document not inserted');
  return { id: doc.id, tenantId: 'acme', collectionId, version: 1 };
}

async function frequencies(collectionId: string, ids: number[]) {
  const stats = await readCollectionTermStats(db.pool, collectionId, ids);
  return {
    chunkCount: stats.chunkCount,
    totalTokens: stats.totalTokens,
    df: Object.fromEntries(stats.documentFrequency),
  };
}

describe('collection term statistics', () => {
  it('follow inserts, replacements and deletes of chunks', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'stats'))!;
    expect(await frequencies(collection.id, [1, 2])).toEqual({ chunkCount: 0, totalTokens: 0, df: {} });

    const first = await newDocument(collection.id, 'a');
    await replaceChunks(db.pool, first, [chunk(0, [1, 2, 2, 3]), chunk(1, [2, 4])]);
    expect(await frequencies(collection.id, [1, 2, 3, 4, 5])).toEqual({
      chunkCount: 2,
      totalTokens: 6,
      df: { 1: 1, 2: 2, 3: 1, 4: 1 },
    });

    const second = await newDocument(collection.id, 'b');
    await replaceChunks(db.pool, second, [chunk(0, [2, 5])]);
    // A new version replaces the chunks: token 1 and 3 leave with the old ones.
    await withTransaction(db.pool, (client) => replaceChunks(client, first, [chunk(0, [4, 4, 6])]));
    expect(await frequencies(collection.id, [1, 2, 3, 4, 5, 6])).toEqual({
      chunkCount: 2,
      totalTokens: 5,
      df: { 2: 1, 4: 1, 5: 1, 6: 1 },
    });
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM collection_term_stats WHERE collection_id = $1',
      [collection.id],
    );
    expect(rows[0].n).toBe(4); // no rows left behind at zero

    await deleteDocumentRow(db.pool, second.id); // chunks go by cascade
    expect(await frequencies(collection.id, [2, 4, 5, 6])).toEqual({
      chunkCount: 1,
      totalTokens: 3,
      df: { 4: 1, 6: 1 },
    });
    expect(
      averageChunkLength(await readCollectionIndexStats(db.pool, collection.id), { chunks: 1, tokens: 5 }),
    ).toBe(4);
  });

  it('ignore chunks without token ids, and vanish with the collection', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'legacy'))!;
    const doc = await newDocument(collection.id, 'legacy');
    await replaceChunks(db.pool, doc, [chunk(0, undefined), chunk(1, [7])]);
    expect(await frequencies(collection.id, [7])).toEqual({ chunkCount: 1, totalTokens: 1, df: { 7: 1 } });
    await deleteCollection(db.pool, collection.id);
    const left = await db.pool.query(
      `SELECT (SELECT count(*) FROM collection_term_stats WHERE collection_id = $1)::int AS terms,
              (SELECT count(*) FROM collection_index_stats WHERE collection_id = $1)::int AS stats`,
      [collection.id],
    );
    expect(left.rows[0]).toEqual({ terms: 0, stats: 0 });
  });

  it('bump the index version on every write that changes what search can return', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'versions'))!;
    const version = async () => (await readCollectionIndexStats(db.pool, collection.id)).indexVersion;
    const doc = await newDocument(collection.id, 'v');
    const v0 = await version();
    await replaceChunks(db.pool, doc, [chunk(0, [1])]);
    const v1 = await version();
    expect(v1).toBeGreaterThan(v0);
    await transitionDocument(db.pool, doc.id, 1, ['queued'], { status: 'ready', chunkCount: 1 });
    const v2 = await version();
    expect(v2).toBeGreaterThan(v1);
    await deleteDocumentRow(db.pool, doc.id);
    expect(await version()).toBeGreaterThan(v2);
  });

  it('stay consistent when documents of one collection are written concurrently', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'concurrent'))!;
    const docs = await Promise.all(Array.from({ length: 8 }, (_, i) => newDocument(collection.id, `c${i}`)));
    await Promise.all(
      docs.map((doc, i) =>
        withTransaction(db.pool, (client) =>
          replaceChunks(client, doc, [chunk(0, [100, 101 + i]), chunk(1, [100, 200, 201, 202, 203])]),
        ),
      ),
    );
    const stats = await frequencies(collection.id, [100, 101, 200]);
    expect(stats).toEqual({ chunkCount: 16, totalTokens: 56, df: { 100: 16, 101: 1, 200: 8 } });
  });
});
