import { type Pool, type Queryable, withTransaction } from './pool.js';

/**
 * PostgreSQL's planner statistics for the product's tables: when each was last analyzed, how many rows
 * changed since, and whether autovacuum (which would analyze them by itself) may run. Read from the
 * cumulative statistics views of the current schema (the one the pool's search_path names).
 */

/** Tables an ingest changes in bulk: the ones whose statistics the worker keeps fresh. */
export const bulkWrittenTables = [
  'documents',
  'chunks',
  'collection_term_stats',
  'collection_index_stats',
] as const;

export interface TableStatistics {
  table: string;
  /** Rows PostgreSQL counts as live (from its own counters, not a count(*)). */
  liveRows: number;
  /** Whether the table's file holds anything (the counters above reach the view with a short delay). */
  hasData: boolean;
  /** Rows inserted, updated or deleted since the last ANALYZE (or ever, when never analyzed). */
  modifiedSinceAnalyze: number;
  /** The last ANALYZE, manual or by autovacuum; null when the table was never analyzed. */
  lastAnalyzedAt: Date | null;
  /** False when the table's own storage parameter turns autovacuum off. */
  autovacuumEnabled: boolean;
}

export interface StalenessRule {
  /** Changed rows that always make statistics stale... */
  changedRows: number;
  /** ...or this share of the table's rows, whichever is larger. */
  changedFraction: number;
}

export type StatisticsState = 'fresh' | 'never-analyzed' | 'stale';

export function statisticsState(stats: TableStatistics, rule: StalenessRule): StatisticsState {
  if (stats.lastAnalyzedAt === null) {
    return stats.hasData || stats.liveRows + stats.modifiedSinceAnalyze > 0 ? 'never-analyzed' : 'fresh';
  }
  const threshold = Math.max(rule.changedRows, rule.changedFraction * stats.liveRows);
  return stats.modifiedSinceAnalyze >= threshold ? 'stale' : 'fresh';
}

export async function readTableStatistics(
  db: Queryable,
  tables: readonly string[],
): Promise<TableStatistics[]> {
  const { rows } = await db.query<{
    table: string;
    live_rows: string;
    modified: string;
    last_analyzed_at: Date | null;
    autovacuum_enabled: boolean;
    has_data: boolean;
  }>(
    `SELECT c.relname AS table, coalesce(s.n_live_tup, 0) AS live_rows,
            coalesce(s.n_mod_since_analyze, 0) AS modified,
            greatest(s.last_analyze, s.last_autoanalyze) AS last_analyzed_at,
            pg_relation_size(c.oid) > 0 AS has_data,
            NOT coalesce('autovacuum_enabled=false' = ANY(c.reloptions), false) AS autovacuum_enabled
       FROM pg_class c
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY($1::text[])
      ORDER BY c.relname`,
    [[...tables]],
  );
  return rows.map((row) => ({
    table: row.table,
    liveRows: Number(row.live_rows),
    hasData: row.has_data,
    modifiedSinceAnalyze: Number(row.modified),
    lastAnalyzedAt: row.last_analyzed_at,
    autovacuumEnabled: row.autovacuum_enabled,
  }));
}

/** Every ordinary table of the current schema, for the doctor. */
export async function listSchemaTables(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
      ORDER BY relname`,
  );
  return rows.map((row) => row.relname);
}

/** Whether the server runs autovacuum at all (the `autovacuum` setting). */
export async function serverAutovacuumEnabled(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ autovacuum: string }>('SHOW autovacuum');
  return rows[0]?.autovacuum === 'on';
}

/** The schema-qualified, quoted name of a table of the current schema, for statements and advice. */
export async function qualifiedTableName(db: Queryable, table: string): Promise<string> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT format($$%I.%I$$, current_schema(), $1::text) AS name',
    [table],
  );
  return rows[0]!.name;
}

/**
 * Gathers the table's statistics unless another process is analyzing it right now (then false comes back).
 * The lock is a transaction-level advisory lock taken in ANALYZE's own transaction, so several worker
 * replicas never analyze one table at once, and a lost connection never leaves the lock held.
 */
export async function analyzeTableOnce(pool: Pool, table: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const name = await qualifiedTableName(client, table);
    const { rows } = await client.query<{ held: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtext('rag-analyze:' || $1::text)) AS held`,
      [name],
    );
    if (!rows[0]?.held) return false;
    await client.query(`ANALYZE ${name}`);
    return true;
  });
}
