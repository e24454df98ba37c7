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

/**
 * The Milvus store on Milvus Lite: writes, deletes and restarts, and tenant, collection and ACL isolation
 * through searchSignals, the call the search service makes. BM25 and listing: milvus-store-bm25-listing.int.test.ts.
 */
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
