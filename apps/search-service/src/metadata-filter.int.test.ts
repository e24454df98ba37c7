import { randomUUID } from 'node:crypto';
import { type SearchFilter, searchFilterSchema } from '@rag/contracts/search-filter';
import { insertCollection } from '@rag/db/collection-repository';
import { insertDocument } from '@rag/db/document-repository';
import { swapDocumentVersion } from '@rag/db/document-version';
import { migrate } from '@rag/db/migrate';
import { insertTenant } from '@rag/db/tenant-repository';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { compileMilvusFilter } from '@rag/vector-store/metadata-filter-milvus';
import { createMilvusStore, type MilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSearchCatalog } from './search-engine.js';

/**
 * The same filter must select the same documents in Milvus (the vector query) and in PostgreSQL (the join
 * search runs on a page's chunks: the catalog's visibleChunks), including on missing keys, other types,
 * arrays, nulls and hostile strings.
 */

const hostile = {
  quote: 'say "hi" to \'them\'',
  backslash: 'C:\\temp\\" || tenant_id != "',
  operators: '") || (tenant_id != "x',
  sql: "x' OR '1'='1' --",
  unicode: '日本語 🚀 é',
  newline: 'line one\nline two\ttab',
};

const metadata: Record<string, Record<string, unknown>> = {
  en2020: { lang: 'en', year: 2020, draft: true, tags: ['a', 'b'], note: hostile.quote },
  ja2023: { lang: 'ja', year: 2023, draft: false, note: hostile.unicode, obj: { a: 1 } },
  empty: {},
  stringYear: { lang: 'en', year: '2021', note: hostile.backslash },
  nulls: { lang: null, year: 2024.5, note: hostile.operators },
  sql: { lang: 'de', year: -3, note: hostile.sql, 'dotted.key': 'yes' },
  newline: { lang: 'en', note: hostile.newline, year: 0 },
};

const filters: [string, SearchFilter][] = [
  ['eq string', { field: 'lang', eq: 'en' }],
  ['eq number', { field: 'year', eq: 2020 }],
  ['eq boolean', { field: 'draft', eq: false }],
  ['not eq (missing keys stay unknown)', { not: { field: 'lang', eq: 'en' } }],
  ['in', { field: 'lang', in: ['ja', 'de', 7] }],
  ['range numbers', { field: 'year', gte: 2020, lt: 2024 }],
  ['range negative', { field: 'year', lt: 0 }],
  ['not range', { not: { field: 'year', gte: 2021 } }],
  ['range strings', { field: 'lang', gt: 'd', lte: 'f' }],
  ['exists', { field: 'lang', exists: true }],
  ['not exists', { field: 'lang', exists: false }],
  ['dotted key', { field: 'dotted.key', eq: 'yes' }],
  ['array value', { not: { field: 'tags', eq: 'a' } }],
  ['array range', { not: { field: 'tags', gt: 'a' } }],
  ['object value', { not: { field: 'obj', eq: 1 } }],
  ['object range', { not: { field: 'obj', lt: 1 } }],
  [
    'and/or',
    {
      or: [
        {
          and: [
            { field: 'lang', eq: 'en' },
            { field: 'year', gt: 2019 },
          ],
        },
        { field: 'draft', eq: false },
      ],
    },
  ],
  ...Object.entries(hostile).map(([name, value]): [string, SearchFilter] => [
    `hostile ${name}`,
    { field: 'note', eq: value },
  ]),
  ['hostile not', { not: { field: 'note', eq: hostile.operators } }],
];

let db: TestDatabase;
let milvus: MilvusLite;
let store: MilvusStore;
let collectionId: string;
const idsByName = new Map<string, string>();
const chunkIds: string[] = [];
const space = { model: 'filter-test', dim: 2, hasSparse: false };

beforeAll(async () => {
  db = await createTestDatabase('filters', migrate);
  milvus = await startMilvusLite();
  store = createMilvusStore({
    address: milvus.address,
    collectionPrefix: `${uniqueTestPrefix('flt')}_`,
    space,
  });
  await store.ensureReady();
  await insertTenant(db.pool, 'acme', 'Acme');
  collectionId = (await insertCollection(db.pool, 'acme', 'filters'))!.id;
  const rows = [];
  for (const [name, meta] of Object.entries(metadata)) {
    const doc = await insertDocument(db.pool, {
      tenantId: 'acme',
      collectionId,
      externalId: name,
      title: null,
      contentHash: name,
      metadata: meta,
      acl: null,
    });
    idsByName.set(name, doc!.id);
    // A ready document with one chunk, as ingestion leaves it: the join reads only chunks of the ready version.
    const chunkId = randomUUID();
    const swap = await swapDocumentVersion(
      db.pool,
      { id: doc!.id, tenantId: 'acme', collectionId, version: doc!.version },
      [{ id: chunkId, ordinal: 0, text: `chunk of ${name}`, startOffset: 0, endOffset: 10 }],
    );
    expect(swap.swapped).toBe(true);
    chunkIds.push(chunkId);
    rows.push({
      chunkId,
      tenantId: 'acme',
      collectionId,
      documentId: doc!.id,
      dense: [1, 0],
      metadata: meta,
      acl: null,
    });
  }
  await store.insert(rows);
  await store.flush();
}, 120_000);

afterAll(async () => {
  await store?.close();
  await milvus?.stop();
  await db?.drop();
});

async function milvusMatches(filter: SearchFilter): Promise<string[]> {
  const hits = await store.searchSignals({
    scope: { tenantId: 'acme', collectionId },
    principals: null,
    metadataFilter: compileMilvusFilter(filter),
    vectors: { dense: [1, 0] },
    limit: 100,
  });
  return names((hits.dense ?? []).map((hit) => hit.documentId));
}

/** What PostgreSQL shows of every chunk under the filter, by the query search joins a page with. */
async function postgresMatches(filter: SearchFilter): Promise<string[]> {
  const visible = await postgresSearchCatalog(db.pool).visibleChunks(
    { tenantId: 'acme', collectionId, principals: null, filter },
    chunkIds,
  );
  return names([...visible.values()].map((chunk) => chunk.documentId));
}

function names(ids: string[]): string[] {
  const byId = new Map([...idsByName].map(([name, id]) => [id, name]));
  return ids.map((id) => byId.get(id) ?? id).sort();
}

describe('metadata filters', () => {
  it.each(filters)('%s: Milvus and PostgreSQL select the same documents', async (_name, filter) => {
    expect(searchFilterSchema.safeParse(filter).success).toBe(true);
    expect(await milvusMatches(filter)).toEqual(await postgresMatches(filter));
  });

  it('select what the filter says', async () => {
    expect(await postgresMatches({ field: 'lang', eq: 'en' })).toEqual(['en2020', 'newline', 'stringYear']);
    expect(await postgresMatches({ field: 'lang', exists: false })).toEqual(['empty', 'nulls']);
    expect(await milvusMatches({ field: 'lang', eq: 'en' })).toEqual(['en2020', 'newline', 'stringYear']);
    expect(await milvusMatches({ not: { field: 'lang', eq: 'en' } })).toEqual(['ja2023', 'sql']);
    expect(await milvusMatches({ field: 'year', gte: 2020, lt: 2024 })).toEqual(['en2020', 'ja2023']);
    expect(await milvusMatches({ field: 'note', eq: hostile.operators })).toEqual(['nulls']);
    expect(await milvusMatches({ field: 'note', eq: hostile.backslash })).toEqual(['stringYear']);
    expect(await milvusMatches({ field: 'lang', exists: false })).toEqual(['empty', 'nulls']);
  });
});
