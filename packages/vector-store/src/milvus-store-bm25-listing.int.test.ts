import type { SparseVector } from '@rag/contracts/embedding-api';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkVectorRow, VectorScope, VectorSpace } from './chunk-vector-store.js';
import { createMilvusStore, type MilvusStore } from './milvus-store.js';

/**
 * The Milvus store's BM25 signal (our term-id vectors, and Milvus's own BM25 function) and its listing of a
 * collection larger than one query. Tenant, collection and ACL isolation are in milvus-store.int.test.ts.
 */
const space: VectorSpace = { model: 'tiny-m3', dim: 4, hasSparse: true };
const acmeDocs: VectorScope = { tenantId: 'acme', collectionId: 'docs' };

function unit(values: number[]): number[] {
  const norm = Math.hypot(...values);
  return values.map((value) => value / norm);
}

function row(
  scope: VectorScope,
  documentId: string,
  chunkId: string,
  dense: number[],
  sparse: SparseVector,
): ChunkVectorRow {
  return { ...scope, documentId, chunkId, dense: unit(dense), sparse, acl: null };
}

let milvus: MilvusLite;
let store: MilvusStore;
const collectionPrefix = `itbm25_${process.pid}_`;

beforeAll(async () => {
  milvus = await startMilvusLite();
  store = createMilvusStore({ address: milvus.address, collectionPrefix, space });
  await store.ensureReady();
});

afterAll(async () => {
  await store?.close();
  await milvus?.stop();
});

describe('per-signal search with BM25', () => {
  const bm25Scope: VectorScope = { tenantId: 'acme', collectionId: 'bm25' };
  const bm25Rows: ChunkVectorRow[] = [
    {
      ...bm25Scope,
      documentId: 'b-1',
      chunkId: 'b-1-0',
      dense: unit([1, 0, 0, 0]),
      sparse: { indices: [1], values: [1] },
      bm25: { indices: [7, 9], values: [1.2, 0.5] },
      acl: null,
    },
    {
      ...bm25Scope,
      documentId: 'b-2',
      chunkId: 'b-2-0',
      dense: unit([0, 1, 0, 0]),
      sparse: { indices: [1], values: [1] },
      bm25: { indices: [7], values: [0.4] },
      acl: null,
    },
    // No BM25 terms: stored with the placeholder dimension, which no query matches.
    {
      ...bm25Scope,
      documentId: 'b-3',
      chunkId: 'b-3-0',
      dense: unit([0, 0, 1, 0]),
      sparse: { indices: [1], values: [1] },
      acl: null,
    },
  ];

  beforeAll(async () => {
    await store.insert(bm25Rows);
    await store.flush();
  });

  it('ranks by the inner product of the query and document BM25 vectors, each signal on its own', async () => {
    const hits = await store.searchSignals({
      scope: bm25Scope,
      principals: null,
      metadataFilter: '',
      vectors: { bm25: { indices: [7, 9], values: [2, 1] }, dense: unit([0, 1, 0, 0]) },
      limit: 10,
    });
    expect(hits.bm25?.map((hit) => [hit.chunkId, Number(hit.score.toFixed(4))])).toEqual([
      ['b-1-0', 2.9],
      ['b-2-0', 0.8],
    ]);
    expect(hits.dense?.[0]?.chunkId).toBe('b-2-0');
    expect(hits.dense).toHaveLength(3);
  });

  it('answers an empty BM25 query with no hits', async () => {
    const hits = await store.searchSignals({
      scope: bm25Scope,
      principals: null,
      metadataFilter: '',
      vectors: { bm25: { indices: [], values: [] } },
      limit: 10,
    });
    expect(hits.bm25).toEqual([]);
  });
});

describe("Milvus's own BM25 function (MILVUS_BM25=milvus-function)", () => {
  it('indexes the text and ranks English by BM25 in a collection of its own', async () => {
    const functionStore = createMilvusStore({
      address: milvus.address,
      collectionPrefix,
      space,
      bm25: 'milvus-function',
    });
    try {
      await functionStore.ensureReady();
      expect(functionStore.collectionName).toBe(`${collectionPrefix}chunks_tiny_m3_4_v2_fbm25`);
      const scope: VectorScope = { tenantId: 'acme', collectionId: 'text' };
      const texts = [
        'The printer on floor two is broken',
        'Coffee machine rules',
        'Printer paper and printer toner',
      ];
      await functionStore.insert(
        texts.map((text, i) => ({
          ...scope,
          documentId: `t-${i}`,
          chunkId: `t-${i}-0`,
          dense: unit([1, i, 0, 0]),
          sparse: { indices: [1], values: [1] },
          text,
          acl: null,
        })),
      );
      await functionStore.flush();
      const hits = await functionStore.searchSignals({
        scope,
        principals: null,
        metadataFilter: '',
        vectors: { bm25: 'printer toner' },
        limit: 10,
      });
      expect(hits.bm25?.map((hit) => hit.chunkId)).toEqual(['t-2-0', 't-0-0']);
      await expect(
        functionStore.insert([
          {
            ...scope,
            documentId: 'x',
            chunkId: 'x-0',
            dense: unit([1, 0, 0, 0]),
            sparse: { indices: [1], values: [1] },
            acl: null,
          },
        ]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
    } finally {
      await functionStore.close();
    }
  });

  it("counts every tenant's text in its BM25 statistics: another tenant's chunks change a tenant's scores", async () => {
    const chunk = (scope: VectorScope, id: string, text: string): ChunkVectorRow => ({
      ...scope,
      documentId: id,
      chunkId: `${scope.tenantId}-${id}`,
      dense: unit([1, 0, 0, 0]),
      sparse: { indices: [1], values: [1] },
      text,
      acl: null,
    });
    const acmeChunks = [
      chunk(acmeDocs, 'a', 'the quarterly merger memo'),
      chunk(acmeDocs, 'b', 'lunch menu of the week'),
    ];
    // Milvus Lite keeps the statistics per partition, and the tenant is a partition key hashed into a
    // fixed number of partitions: among 200 other tenants some share acme's. Milvus standalone keeps them
    // per shard of the whole collection.
    const otherTenants = Array.from({ length: 200 }, (_, i) =>
      chunk({ tenantId: `t${i}`, collectionId: 'docs' }, 'x', `merger talks ${i}`),
    );
    // The same acme chunks, in a Milvus collection of their own and in one shared with globex.
    const acmeScore = async (prefix: string, rows: ChunkVectorRow[]) => {
      const functionStore = createMilvusStore({
        address: milvus.address,
        collectionPrefix: `${collectionPrefix}${prefix}_`,
        space,
        bm25: 'milvus-function',
      });
      try {
        await functionStore.ensureReady();
        await functionStore.insert(rows);
        await functionStore.flush();
        const hits = await functionStore.searchSignals({
          scope: acmeDocs,
          principals: null,
          metadataFilter: '',
          vectors: { bm25: 'quarterly merger' },
          limit: 10,
        });
        expect(hits.bm25?.map((hit) => hit.chunkId)).toEqual(['acme-a']);
        return hits.bm25?.[0]?.score as number;
      } finally {
        await functionStore.close();
      }
    };
    const alone = await acmeScore('alone', acmeChunks);
    const shared = await acmeScore('shared', [...acmeChunks, ...otherTenants]);
    // So the search service shows no BM25 scores in this mode (lexical-score-exposure.ts).
    expect(shared).not.toBeCloseTo(alone, 6);
  });
});

describe('listing a collection larger than one query', () => {
  it('returns every row once, whatever order Milvus answers in and however the keys share prefixes', async () => {
    // A page of 7 rows forces ranges to be cut down to single characters and below, and through keys
    // that are prefixes of others ("a", "a1", "a11") and keys with quotes, backslashes and the last character.
    const small = createMilvusStore({
      address: milvus.address,
      collectionPrefix: `${collectionPrefix}pages_`,
      space,
      listPageSize: 7,
    });
    try {
      await small.ensureReady();
      const scope: VectorScope = { tenantId: 'acme', collectionId: 'paged' };
      const ids = [
        ...Array.from({ length: 300 }, (_, i) => `${(i * 7919).toString(16).padStart(8, '0')}-chunk`),
        'a',
        'a1',
        'a11',
        'a111',
        'a2',
        '~',
        '~~',
        '"quoted"',
        'back\\slash',
        'zz~~~',
      ];
      // Several inserts with a flush between them, so the rows lie in several segments.
      for (let start = 0; start < ids.length; start += 100) {
        await small.insert(
          ids
            .slice(start, start + 100)
            .map((id, i) =>
              row(scope, `doc-${(start + i) % 5}`, id, [1, i, 0, 1], { indices: [1], values: [1] }),
            ),
        );
        await small.flush();
      }
      const listed: string[] = [];
      for await (const batch of small.listChunks(scope)) listed.push(...batch.map((r) => r.chunkId));
      expect(listed.length).toBe(ids.length);
      expect([...listed].sort()).toEqual([...ids].sort());
    } finally {
      await small.close();
    }
  });

  it('refuses a chunk id that a listing could not page through', async () => {
    const scope: VectorScope = { tenantId: 'acme', collectionId: 'paged' };
    for (const chunkId of ['has space', 'ünïcode', 'tab\there', '']) {
      await expect(
        store.insert([row(scope, 'doc', chunkId, [1, 0, 0, 0], { indices: [1], values: [1] })]),
      ).rejects.toMatchObject({ code: 'bad_request' });
    }
  });
});
