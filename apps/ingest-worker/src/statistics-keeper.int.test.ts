import { insertCollection } from '@rag/db/collection-repository';
import { migrate } from '@rag/db/migrate';
import { insertTenant } from '@rag/db/tenant-repository';
import { createLogger } from '@rag/telemetry/logger';
import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStatistics } from './statistics-check.js';
import { createStatisticsKeeper } from './statistics-keeper.js';

let db: TestDatabase;
let collectionId: string;
let clock = Date.now();
const settings = { checkIntervalMs: 60_000, minIntervalMs: 300_000, changedRows: 500, changedFraction: 0.1 };
const rule = { changedRows: settings.changedRows, changedFraction: settings.changedFraction };

/** Writes through one connection, then makes PostgreSQL publish its change counters at once. */
async function write(sql: string, params: unknown[]) {
  const client = await db.pool.connect();
  try {
    await client.query(sql, params);
    await client.query('SELECT pg_stat_force_next_flush()');
  } finally {
    client.release();
  }
  // The flush happens when that session goes idle; a fresh transaction of another one then sees it.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

async function lastAnalyzed(table: string): Promise<Date | null> {
  const { rows } = await db.pool.query<{ at: Date | null }>(
    `SELECT last_analyze AS at FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2`,
    [db.schema, table],
  );
  return rows[0]?.at ?? null;
}

beforeAll(async () => {
  db = await createTestDatabase('statskeeper', migrate);
  for (const table of ['documents', 'chunks']) {
    await db.pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  }
  await insertTenant(db.pool, 'acme', 'Acme');
  collectionId = (await insertCollection(db.pool, 'acme', 'bulk'))!.id;
  // A bulk ingest as the worker leaves it: thousands of rows, statistics never gathered.
  await write(
    `INSERT INTO documents (tenant_id, collection_id, content_hash, status, ready_version)
     SELECT 'acme', $1, 'h' || n, 'ready', 1 FROM generate_series(1, 3000) n`,
    [collectionId],
  );
  await write(
    `INSERT INTO chunks (id, document_id, tenant_id, collection_id, document_version, ordinal, text,
                         start_offset, end_offset, token_ids)
     SELECT gen_random_uuid(), d.id, 'acme', $1, 1, 0, 'text', 0, 4, ARRAY[1, 2, 3] FROM documents d`,
    [collectionId],
  );
});

afterAll(async () => {
  await db?.drop();
});

describe('planner statistics after a bulk ingest', () => {
  it('the doctor warns of tables never analyzed and of autovacuum turned off, with the fix', async () => {
    const warnings = await checkStatistics(db.pool, rule);
    const table = (name: string) => `${db.schema}.${name}`;
    expect(warnings).toEqual(
      expect.arrayContaining([
        {
          problem: expect.stringMatching(new RegExp(`^table ${table('documents')} .*never been analyzed`)),
          fix: `ANALYZE ${table('documents')};`,
        },
        {
          problem: expect.stringMatching(new RegExp(`^table ${table('chunks')} .*never been analyzed`)),
          fix: `ANALYZE ${table('chunks')};`,
        },
        {
          problem: `autovacuum is disabled on table ${table('chunks')}`,
          fix: `ALTER TABLE ${table('chunks')} RESET (autovacuum_enabled);`,
        },
      ]),
    );
  });

  it('the worker analyzes each bulk-written table once, then again only after many changes and its interval', async () => {
    const keeper = createStatisticsKeeper({
      pool: db.pool,
      logger: createLogger({ service: 'test', level: 'silent' }),
      settings,
      now: () => clock,
    });
    expect(await keeper.check()).toEqual([
      'chunks',
      'collection_index_stats',
      'collection_term_stats',
      'documents',
    ]);
    expect(await lastAnalyzed('documents')).toBeInstanceOf(Date);
    // Fresh now: nothing to do.
    expect(await keeper.check()).toEqual([]);
    const stillWarned = (await checkStatistics(db.pool, rule)).filter((w) =>
      /never been analyzed/.test(w.problem),
    );
    expect(stillWarned.map((w) => w.problem)).not.toContainEqual(expect.stringContaining('.documents '));

    // Many changes soon after: stale, but the table was analyzed less than the interval ago.
    await write(`UPDATE documents SET status = 'ready', updated_at = now() WHERE collection_id = $1`, [
      collectionId,
    ]);
    const stale = await checkStatistics(db.pool, rule);
    expect(stale).toContainEqual({
      problem: expect.stringMatching(/documents has 3000 rows changed since it was last analyzed/),
      fix: `ANALYZE ${db.schema}.documents;`,
    });
    expect(await keeper.check()).toEqual([]);
    clock = Date.now() + settings.minIntervalMs;
    expect(await keeper.check()).toEqual(['documents']);
    await keeper.stop();
  });
});
