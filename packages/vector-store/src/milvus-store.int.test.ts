import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '@rag/contracts/app-error';
import type { SparseVector } from '@rag/contracts/embedding-api';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChunkVectorRow,
  SignalHits,
  SignalSearch,
  VectorScope,
  VectorSpace,
} from './chunk-vector-store.js';
import { createMilvusStore, type MilvusStore } from './milvus-store.js';

const space: VectorSpace = { model: 'tiny-m3', dim: 4, hasSparse: true };
const acmeDocs: VectorScope = { tenantId: 'acme', collectionId: 'docs' };
const acmeNotes: VectorScope = { tenantId: 'acme', collectionId: 'notes' };
const globexDocs: VectorScope = { tenantId: 'globex', collectionId: 'docs' };

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
  acl: string[] | null = null,
): ChunkVectorRow {
  // The sparse weights serve as the BM25 vector as well, so every signal has something to find.
  return { ...scope, documentId, chunkId, dense: unit(dense), sparse, bm25: sparse, acl };
}

/** A search as the search service runs it (search-engine.ts): each signal on its own, in one call. */
function search(
  scope: VectorScope,
  principals: string[] | null,
  vectors: SignalSearch['vectors'],
  limit: number,
): Promise<SignalHits> {
  return store.searchSignals({ scope, principals, metadataFilter: '', vectors, limit });
}

/** What any signal found: a chunk or document leaking through one signal shows up here. */
function found(hits: SignalHits, key: 'chunkId' | 'documentId' = 'chunkId'): Set<string> {
  return new Set(Object.values(hits).flatMap((signal) => signal.map((hit) => hit[key])));
}

// Each scope holds the "same" content, so a leak across tenants or collections would show up as a hit.
const rows: ChunkVectorRow[] = [
  row(acmeDocs, 'doc-1', 'acme-docs-1-0', [1, 0, 0, 0], { indices: [10, 11], values: [0.9, 0.1] }),
  row(acmeDocs, 'doc-1', 'acme-docs-1-1', [0, 1, 0, 0], { indices: [20], values: [0.8] }),
  // doc-2 is restricted by its ACL to the finance group.
  row(acmeDocs, 'doc-2', 'acme-docs-2-0', [0, 0, 1, 0], { indices: [30, 31], values: [0.7, 0.3] }, [
    'group:finance',
  ]),
  row(acmeDocs, 'doc-2', 'acme-docs-2-1', [0, 0, 0, 1], { indices: [40], values: [0.6] }, ['group:finance']),
  row(acmeNotes, 'doc-1', 'acme-notes-1-0', [1, 0, 0, 0], { indices: [10], values: [1] }),
  row(globexDocs, 'doc-1', 'globex-docs-1-0', [1, 0, 0, 0], { indices: [10], values: [1] }),
  row(globexDocs, 'doc-3', 'globex-docs-3-0', [0, 0, 1, 0], { indices: [30], values: [1] }),
];

let milvus: MilvusLite;
let dataDir: string;
let store: MilvusStore;
const collectionPrefix = `it_${process.pid}_`;

function openStore(): MilvusStore {
  return createMilvusStore({ address: milvus.address, collectionPrefix, space });
}

beforeAll(async () => {
  // A data dir of our own (not the helper's temp one), so the restart test can reuse it.
  dataDir = await mkdtemp(join(tmpdir(), 'milvus-store-test-'));
  milvus = await startMilvusLite({ dataDir });
  store = openStore();
  await store.ensureReady();
  await store.insert(rows);
  await store.flush();
});

afterAll(async () => {
  await store?.close();
  await milvus?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('MilvusStore', () => {
  it('names its collection after the prefix, model and dimension', () => {
    expect(store.collectionName).toBe(`${collectionPrefix}chunks_tiny_m3_4_v2`);
  });

  it('ensureReady is idempotent', async () => {
    await store.ensureReady();
    await store.ensureReady();
    expect(await store.countByDocument(acmeDocs, 'doc-1')).toBe(2);
  });

  it('finds the nearest chunk by dense vector alone', async () => {
    const hits = await search(acmeDocs, null, { dense: unit([0.1, 0.9, 0.1, 0]) }, 2);
    expect(hits.dense?.[0]).toMatchObject({ chunkId: 'acme-docs-1-1', documentId: 'doc-1' });
    expect(hits.dense).toHaveLength(2);
    expect(Object.keys(hits)).toEqual(['dense']);
  });

  it('finds the nearest chunk by sparse vector alone', async () => {
    const hits = await search(acmeDocs, null, { sparse: { indices: [30], values: [1] } }, 3);
    expect(hits.sparse?.map((hit) => hit.chunkId)).toEqual(['acme-docs-2-0']);
    expect(hits.sparse?.[0]?.documentId).toBe('doc-2');
  });

  it('answers every signal of one query on its own, each best first', async () => {
    const hits = await search(
      acmeDocs,
      null,
      {
        dense: unit([0, 0, 0.2, 1]),
        sparse: { indices: [40, 10], values: [1, 0.1] },
        bm25: { indices: [40, 10], values: [1, 0.1] },
      },
      3,
    );
    for (const signal of ['dense', 'sparse', 'bm25'] as const) {
      const ranked = hits[signal] ?? [];
      expect(ranked[0]?.chunkId, signal).toBe('acme-docs-2-1');
      expect(ranked.length, signal).toBeLessThanOrEqual(3);
      const scores = ranked.map((hit) => hit.score);
      expect(scores, signal).toEqual([...scores].sort((a, b) => b - a));
    }
  });

  it('never returns rows of another tenant or another collection', async () => {
    const terms = { indices: [10, 20, 30, 40], values: [1, 1, 1, 1] };
    const everything = { dense: unit([1, 1, 1, 1]), sparse: terms, bm25: terms };
    const acme = await search(acmeDocs, null, everything, 50);
    const acmeChunks = new Set(['acme-docs-1-0', 'acme-docs-1-1', 'acme-docs-2-0', 'acme-docs-2-1']);
    for (const signal of ['dense', 'sparse', 'bm25'] as const) {
      expect(new Set(acme[signal]?.map((hit) => hit.chunkId)), signal).toEqual(acmeChunks);
    }
    const globex = await search(globexDocs, null, everything, 50);
    expect(found(globex)).toEqual(new Set(['globex-docs-1-0', 'globex-docs-3-0']));
    const notes = await search(acmeNotes, null, everything, 50);
    expect(found(notes)).toEqual(new Set(['acme-notes-1-0']));
    const nobody = await search({ tenantId: 'nobody', collectionId: 'docs' }, null, everything, 5);
    expect(nobody).toEqual({ dense: [], sparse: [], bm25: [] });
  });

  it('rejects a hostile id before it reaches Milvus', async () => {
    const hostile = { tenantId: 'acme" || tenant_id != "', collectionId: 'docs' };
    for (const attempt of [
      () => search(hostile, null, { dense: unit([1, 0, 0, 0]) }, 5),
      () => store.countByDocument(acmeDocs, 'doc-1" || document_id != "'),
      () => store.deleteByDocument(hostile, 'doc-1'),
      () => store.insert([{ ...rows[0]!, ...hostile }]),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(isAppError(error) && error.code).toBe('bad_request');
    }
    // Nothing was deleted or inserted by the attempts above.
    expect(await store.countByDocument(acmeDocs, 'doc-1')).toBe(2);
    expect(await store.countByDocument(globexDocs, 'doc-1')).toBe(1);
  });

  it('deleteByDocument removes exactly that document in that scope', async () => {
    const extra = [
      row(acmeDocs, 'doc-9', 'acme-docs-9-0', [1, 1, 0, 0], { indices: [90], values: [1] }),
      row(acmeDocs, 'doc-9', 'acme-docs-9-1', [0, 1, 1, 0], { indices: [91], values: [1] }),
      row(globexDocs, 'doc-9', 'globex-docs-9-0', [1, 1, 0, 0], { indices: [90], values: [1] }),
    ];
    await store.insert(extra);
    await store.flush();
    expect(await store.countByDocument(acmeDocs, 'doc-9')).toBe(2);

    await store.deleteByDocument(acmeDocs, 'doc-9');
    await store.flush();

    expect(await store.countByDocument(acmeDocs, 'doc-9')).toBe(0);
    expect(await store.countByDocument(globexDocs, 'doc-9')).toBe(1);
    expect(await store.countByDocument(acmeDocs, 'doc-1')).toBe(2);
    expect(await store.countByDocument(acmeDocs, 'doc-2')).toBe(2);
    const terms = { indices: [90, 91], values: [1, 1] };
    const hits = await search(acmeDocs, null, { sparse: terms, bm25: terms }, 5);
    expect(hits).toEqual({ sparse: [], bm25: [] });
  });

  it('keeps its data across a server restart and loads it again in ensureReady', async () => {
    await store.close();
    await milvus.stop();
    milvus = await startMilvusLite({ dataDir });
    store = openStore();
    await store.ensureReady();

    expect(await store.countByDocument(acmeDocs, 'doc-1')).toBe(2);
    expect(await store.countByDocument(globexDocs, 'doc-3')).toBe(1);
    const hits = await search(acmeDocs, null, { dense: unit([0, 0, 1, 0]) }, 1);
    expect(hits.dense?.[0]?.chunkId).toBe('acme-docs-2-0');
  });

  it('loads its collection again by itself when Milvus was killed and restarted under it', async () => {
    const port = Number(milvus.address.split(':').at(-1));
    process.kill(milvus.pid, 'SIGKILL');
    await milvus.stop();
    milvus = await startMilvusLite({ dataDir, port });
    // The same store, never told about the restart: the collection is 'released' on the new server.
    const hits = await search(acmeDocs, null, { dense: unit([0, 0, 1, 0]) }, 1);
    expect(hits.dense?.[0]?.chunkId).toBe('acme-docs-2-0');
    expect(await store.countByDocument(acmeDocs, 'doc-1')).toBe(2);
  });

  it('reports an unreachable server as a retryable dependency_unavailable', async () => {
    const dead = createMilvusStore({ address: '127.0.0.1:1', collectionPrefix, space, timeoutMs: 2_000 });
    try {
      const error = await dead.checkHealth().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(isAppError(error) && error.code).toBe('dependency_unavailable');
      expect(isAppError(error) && error.retryable).toBe(true);
    } finally {
      await dead.close();
    }
  });
});

describe('per-document ACL inside the vector query', () => {
  const terms = { indices: [30], values: [1] };
  const vectors = { dense: unit([0, 0, 1, 0]), sparse: terms, bm25: terms };
  // The documents any of the three signals finds: a restricted one leaking through any signal shows here.
  const documents = async (principals: string[] | null, scope = acmeDocs) =>
    found(await search(scope, principals, vectors, 10), 'documentId');

  it('shows a restricted document only to callers sharing a principal, and to unrestricted callers', async () => {
    expect(await documents(null)).toEqual(new Set(['doc-1', 'doc-2']));
    expect(await documents(['group:finance'])).toEqual(new Set(['doc-1', 'doc-2']));
    expect(await documents(['user:bob', 'group:finance'])).toEqual(new Set(['doc-1', 'doc-2']));
    expect(await documents(['user:bob'])).toEqual(new Set(['doc-1']));
    expect(await documents([])).toEqual(new Set(['doc-1']));
  });

  it('matches principals with any characters exactly, and none can open the expression', async () => {
    const aclScope: VectorScope = { tenantId: 'acme', collectionId: 'acl' };
    const shared: [string, string[] | null][] = [
      ['for-auth0', ['user:auth0|abc']],
      ['for-rnd', ['group:R&D team']],
      ['for-breakout', ['"]) || true || (["']],
      ['for-quotes', ['a"b\\c\'d']],
      ['for-other', ['user:other']],
      ['public', null],
    ];
    await store.insert(
      shared.map(([documentId, acl], i) =>
        row(aclScope, documentId, `acl-${i}`, [0, 0, 1, 0], { indices: [30], values: [1] }, acl),
      ),
    );
    await store.flush();
    const visible = (principals: string[]) => documents(principals, aclScope);
    expect(await visible(['user:auth0|abc', 'group:R&D team'])).toEqual(
      new Set(['for-auth0', 'for-rnd', 'public']),
    );
    expect(await visible(['"]) || true || (["'])).toEqual(new Set(['for-breakout', 'public']));
    expect(await visible(['a"b\\c\'d'])).toEqual(new Set(['for-quotes', 'public']));
    for (const hostile of [
      'a" || true || "',
      'x\\',
      '"]) || true || ([',
      '\\"]) || acl_public == false || (["',
    ]) {
      expect(await visible([hostile])).toEqual(new Set(['public']));
    }
  });
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
