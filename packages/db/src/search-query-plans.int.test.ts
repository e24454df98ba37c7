import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findActiveApiKeyByHash, insertApiKey } from './api-key-repository.js';
import { findCollectionByName, insertCollection } from './collection-repository.js';
import { migrate } from './migrate.js';
import type { Queryable } from './pool.js';
import { readCollectionSearchState } from './reindex-repository.js';
import { findVisibleChunks } from './searchable-chunk-repository.js';
import { insertTenant } from './tenant-repository.js';
import {
  readCollectionIndexStats,
  readCollectionTermStats,
  readSearchStateWithTermStats,
} from './term-stats-repository.js';

/**
 * The queries of a search, planned by PostgreSQL on a collection of 10,000 documents whose statistics were
 * never gathered (fresh tables, no ANALYZE, autovacuum off), as a fresh install after a bulk ingest has
 * them. Each must be driven from the ids in hand: primary-key lookups only, never a scan of the collection.
 * Plans are checked both as the product runs them (custom plans for the given values) and as a generic
 * plan, which a prepared statement may switch to.
 */

const documentsInCollection = 10_000;
let db: TestDatabase;
let collectionId: string;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function flatten(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(flatten)];
}

/** Runs the repository's queries through EXPLAIN as well, keeping each plan (generic ones when asked). */
function explaining(generic: boolean): { db: Queryable; plans: PlanNode[][] } {
  const plans: PlanNode[][] = [];
  // A query comes as its text and values, or as a statement (a prepared one has a name: planned alike).
  const query = async (statement: string | { text: string; values?: unknown[] }, params?: unknown[]) => {
    const text = typeof statement === 'string' ? statement : statement.text;
    const values = typeof statement === 'string' ? params : statement.values;
    const client = await db.pool.connect();
    try {
      if (generic) await client.query('SET plan_cache_mode = force_generic_plan');
      const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        values,
      );
      plans.push(flatten(explained.rows[0]!['QUERY PLAN'][0].Plan));
      return await client.query(text, values);
    } finally {
      client.release(true);
    }
  };
  return { db: { query } as unknown as Queryable, plans };
}

const bigTables = new Set(['documents', 'chunks']);

/** Every read of documents and chunks is a primary-key lookup; the only other driver is the ids' unnest. */
function expectIdDrivenPlan(nodes: PlanNode[], primaryKeys: Record<string, string>) {
  const scans = nodes.filter((node) => node['Relation Name']);
  expect(scans.length).toBeGreaterThan(0);
  for (const scan of scans) {
    const relation = scan['Relation Name']!;
    const expected = primaryKeys[relation];
    if (!expected) continue;
    expect({ relation, node: scan['Node Type'], index: scan['Index Name'] }).toEqual({
      relation,
      node: 'Index Scan',
      index: expected,
    });
  }
  expect(nodes.some((node) => node['Node Type'] === 'Function Scan')).toBe(true);
  expect(
    scans.filter((scan) => bigTables.has(scan['Relation Name']!) && scan['Node Type'] !== 'Index Scan'),
  ).toEqual([]);
}

beforeAll(async () => {
  db = await createTestDatabase('plans', migrate);
  for (const table of ['documents', 'chunks', 'collection_term_stats', 'collection_index_stats']) {
    await db.pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  }
  await insertTenant(db.pool, 'acme', 'Acme');
  await insertTenant(db.pool, 'globex', 'Globex');
  collectionId = (await insertCollection(db.pool, 'acme', 'big'))!.id;
  const other = (await insertCollection(db.pool, 'globex', 'small'))!.id;
  // One bulk write each, as an ingest leaves them: every document ready, one or two chunks each.
  await db.pool.query(
    `INSERT INTO documents (id, tenant_id, collection_id, external_id, title, content_hash, status, metadata,
                            acl, ready_version, chunk_count)
     SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, $1, $2, 'doc-' || n, 'Doc ' || n,
            'hash-' || n, 'ready', jsonb_build_object('lang', CASE WHEN n % 2 = 0 THEN 'en' ELSE 'ja' END),
            CASE WHEN n % 3 = 0 THEN ARRAY['group:a'] END, 1, 1 + (n % 10 = 0)::int
       FROM generate_series(1, $3::int) n`,
    ['acme', collectionId, documentsInCollection],
  );
  await db.pool.query(
    `INSERT INTO chunks (id, document_id, tenant_id, collection_id, document_version, ordinal, text,
                         start_offset, end_offset, token_ids)
     SELECT ('10000000-0000-4000-8000-' || lpad((n * 10 + o)::text, 12, '0'))::uuid,
            ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, $1, $2, 1, o, 'text of ' || n,
            0, 10, ARRAY[n % 500, 1000 + n % 37, 2000 + o]
       FROM generate_series(1, $3::int) n CROSS JOIN LATERAL generate_series(0, (n % 10 = 0)::int) o`,
    ['acme', collectionId, documentsInCollection],
  );
  await db.pool.query(
    `INSERT INTO documents (tenant_id, collection_id, content_hash, status, ready_version)
     SELECT 'globex', $1, 'g' || n, 'ready', 1 FROM generate_series(1, 20) n`,
    [other],
  );
  await insertApiKey(db.pool, {
    tenantId: 'acme',
    name: null,
    prefix: 'abcdefgh',
    hash: 'plan-hash',
    role: 'reader',
    collections: null,
    principals: null,
    expiresAt: null,
  });
});

afterAll(async () => {
  await db?.drop();
});

const pageOfChunks = Array.from(
  { length: 10 },
  (_, i) => `10000000-0000-4000-8000-${String((i * 997 + 13) * 10).padStart(12, '0')}`,
);

describe.each([
  { plan: 'custom', generic: false },
  { plan: 'generic', generic: true },
])('search queries on 10,000 documents without statistics ($plan plans)', ({ generic }) => {
  it('start from tables PostgreSQL has never analyzed', async () => {
    const { rows } = await db.pool.query<{ relname: string; reltuples: number; options: string[] | null }>(
      `SELECT c.relname, c.reltuples, c.reloptions AS options FROM pg_class c
        WHERE c.relnamespace = $1::regnamespace AND c.relname IN ('documents', 'chunks') ORDER BY c.relname`,
      [db.schema],
    );
    // reltuples is -1 until the first VACUUM or ANALYZE.
    expect(rows).toEqual([
      { relname: 'chunks', reltuples: -1, options: ['autovacuum_enabled=false'] },
      { relname: 'documents', reltuples: -1, options: ['autovacuum_enabled=false'] },
    ]);
    const analyzed = await db.pool.query(
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = $1
          AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)`,
      [db.schema],
    );
    expect(analyzed.rows).toEqual([]);
  });

  it("join the page's chunks by their ids, one primary-key lookup each", async () => {
    const probe = explaining(generic);
    const scope = { tenantId: 'acme', collectionId, principals: null };
    const chunks = await findVisibleChunks(probe.db, scope, pageOfChunks);
    expect([...chunks.keys()].sort()).toEqual([...pageOfChunks].sort());
    const limited = await findVisibleChunks(probe.db, { ...scope, principals: ['group:b'] }, pageOfChunks);
    expect([...limited.values()].every((chunk) => Number(chunk.externalId?.slice(4)) % 3 !== 0)).toBe(true);
    const filtered = await findVisibleChunks(
      probe.db,
      { ...scope, filter: { field: 'lang', eq: 'en' } },
      pageOfChunks,
    );
    expect([...filtered.values()].map((chunk) => chunk.metadata)).toEqual(
      Array.from({ length: filtered.size }, () => ({ lang: 'en' })),
    );
    const elsewhere = await findVisibleChunks(probe.db, { ...scope, tenantId: 'globex' }, pageOfChunks);
    expect(elsewhere.size).toBe(0);
    expect(probe.plans).toHaveLength(4);
    for (const plan of probe.plans) {
      expectIdDrivenPlan(plan, { chunks: 'chunks_pkey', documents: 'documents_pkey' });
    }
  });

  it("read BM25 term statistics per token id and the collection's index statistics by its key", async () => {
    const probe = explaining(generic);
    const terms = await readCollectionTermStats(probe.db, collectionId, [7, 1003, 2001, 99_999]);
    expect(Object.fromEntries(terms.documentFrequency)).toEqual({ 7: 20, 1003: 298, 2001: 1000 });
    expect(terms.chunkCount).toBe(11_000);
    const index = await readCollectionIndexStats(probe.db, collectionId);
    expect(index.chunkCount).toBe(11_000);
    const [termPlan, indexPlan] = probe.plans;
    expectIdDrivenPlan(termPlan!, {
      collection_term_stats: 'collection_term_stats_pkey',
      collection_index_stats: 'collection_index_stats_pkey',
    });
    const termLookup = termPlan!.find((node) => node['Relation Name'] === 'collection_term_stats');
    expect(termLookup?.['Index Cond']).toMatch(/token_id = /);
    const indexLookup = indexPlan!.filter((node) => node['Relation Name']);
    expect(indexLookup.map((node) => [node['Node Type'], node['Index Name']])).toEqual([
      ['Index Scan', 'collection_index_stats_pkey'],
    ]);
  });

  it("read a BM25 search's state and term statistics in one query, by the collection's and each token's key", async () => {
    const probe = explaining(generic);
    const state = await readSearchStateWithTermStats(probe.db, collectionId, [7, 1003, 2001, 99_999, 7]);
    expect(Object.fromEntries(state.termStats.documentFrequency)).toEqual({ 7: 20, 1003: 298, 2001: 1000 });
    expect(state.termStats.chunkCount).toBe(11_000);
    expect(state.indexVersion).toBe(state.termStats.indexVersion);
    expect(state.indexVersion).toBeGreaterThan(0);
    expect(probe.plans).toHaveLength(1);
    expectIdDrivenPlan(probe.plans[0]!, {
      collections: 'collections_pkey',
      collection_term_stats: 'collection_term_stats_pkey',
      collection_index_stats: 'collection_index_stats_pkey',
    });
    const unknown = await readSearchStateWithTermStats(db.pool, '00000000-0000-4000-8000-000000000000', [7]);
    expect(unknown).toEqual({
      indexVersion: 0,
      termStats: { chunkCount: 0, totalTokens: 0, indexVersion: 0, documentFrequency: new Map() },
    });
  });

  it('find the API key and the collection by their unique keys', async () => {
    const probe = explaining(generic);
    expect(await findActiveApiKeyByHash(probe.db, 'plan-hash')).toMatchObject({ tenantId: 'acme' });
    expect(await findCollectionByName(probe.db, 'acme', 'big')).toMatchObject({ id: collectionId });
    const lookups = probe.plans.map((plan) =>
      plan
        .filter((node) => node['Relation Name'] && node['Node Type'] !== 'ModifyTable')
        .map((node) => [node['Node Type'], node['Index Name']]),
    );
    expect(lookups).toEqual([
      [['Index Scan', 'api_keys_key_hash_key']],
      [['Index Scan', 'collections_tenant_id_name_key']],
    ]);
  });
});

describe("a search's queries on one connection", () => {
  it('are prepared statements, parsed and planned once per connection; a filtered page is never prepared', async () => {
    const client = await db.pool.connect();
    try {
      const scope = { tenantId: 'acme', collectionId, principals: null };
      for (let i = 0; i < 2; i++) {
        await readCollectionSearchState(client, collectionId);
        await readSearchStateWithTermStats(client, collectionId, [7, 1003]);
        expect((await findVisibleChunks(client, scope, pageOfChunks)).size).toBe(10);
      }
      const filter = { field: 'lang', eq: 'en' } as const;
      expect((await findVisibleChunks(client, { ...scope, filter }, pageOfChunks)).size).toBeGreaterThan(0);
      const { rows } = await client.query<{ name: string; calls: string }>(
        'SELECT name, generic_plans + custom_plans AS calls FROM pg_prepared_statements ORDER BY name',
      );
      expect(rows).toEqual([
        { name: 'search-state', calls: '2' },
        { name: 'search-state-with-term-stats', calls: '2' },
        { name: 'search-visible-chunks', calls: '2' },
      ]);
    } finally {
      client.release(true);
    }
  });
});
