import { migrations as allMigrations, type Migration } from './migrations.js';
import type { Pool } from './pool.js';

/**
 * Brings the schema up to date. Safe to run from every replica at start-up: an advisory lock per schema
 * serialises concurrent runners, and each migration commits with its record.
 */
export async function migrate(
  pool: Pool,
  schema: string,
  migrations: Migration[] = allMigrations,
): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`rag-migrate:${schema}`]);
    try {
      await client.query(`SET search_path TO ${quoteIdentifier(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          await client.query('COMMIT');
          applied.push(migration.version);
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(
            `Migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`rag-migrate:${schema}`]);
    }
  } finally {
    client.release();
  }
  return applied;
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
