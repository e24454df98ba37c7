import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const testPostgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  schema: string;
  pool: pg.Pool;
  /** Drops the schema with everything in it and closes the pool. */
  drop(): Promise<void>;
}

/**
 * A private schema in the local PostgreSQL, so test files never see each other's rows. `prepare` runs
 * once on the fresh schema (the caller passes the migrations; this package stays below @rag/db).
 */
export async function createTestDatabase(
  label: string,
  prepare: (pool: pg.Pool, schema: string) => Promise<unknown>,
  /** Another server than the shared one (a private PostgreSQL that a test may kill). */
  url = testPostgresUrl,
): Promise<TestDatabase> {
  const schema = `${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({
    connectionString: url,
    max: 5,
    options: `-c search_path=${schema}`,
  });
  // An idle connection lost to a server a test stopped must not crash the test process.
  pool.on('error', () => {});
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await prepare(pool, schema);
  return {
    url,
    schema,
    pool,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** A unique prefix for Redis keys and Milvus collections of one test file. */
export function uniqueTestPrefix(label: string): string {
  return `t${label.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(4).toString('hex')}`;
}
