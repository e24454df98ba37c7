import type { Queryable } from '@rag/db/pool';
import {
  listSchemaTables,
  qualifiedTableName,
  readTableStatistics,
  type StalenessRule,
  serverAutovacuumEnabled,
  statisticsState,
} from '@rag/db/table-statistics';

export interface StatisticsWarning {
  problem: string;
  fix: string;
}

/**
 * The doctor's look at PostgreSQL's planner statistics: tables never analyzed or changed much since,
 * and autovacuum turned off on the server or on a table. Stale statistics do not break anything, but a
 * planner that misjudges a table's size may choose plans whose cost grows with the collection.
 */
export async function checkStatistics(db: Queryable, rule: StalenessRule): Promise<StatisticsWarning[]> {
  const warnings: StatisticsWarning[] = [];
  if (!(await serverAutovacuumEnabled(db))) {
    warnings.push({
      problem:
        'autovacuum is off on the PostgreSQL server: nothing vacuums the tables or analyzes tables the worker does not write',
      fix: 'ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();  (or autovacuum = on in postgresql.conf)',
    });
  }
  for (const stats of await readTableStatistics(db, await listSchemaTables(db))) {
    const name = await qualifiedTableName(db, stats.table);
    if (!stats.autovacuumEnabled) {
      warnings.push({
        problem: `autovacuum is disabled on table ${name}`,
        fix: `ALTER TABLE ${name} RESET (autovacuum_enabled);`,
      });
    }
    // A table smaller than the change threshold is planned well enough without statistics.
    const small = Math.max(stats.liveRows, stats.modifiedSinceAnalyze) < rule.changedRows;
    const state = small ? 'fresh' : statisticsState(stats, rule);
    if (state === 'never-analyzed') {
      warnings.push({
        problem: `table ${name} (${stats.liveRows} rows) has never been analyzed`,
        fix: `ANALYZE ${name};`,
      });
    } else if (state === 'stale') {
      warnings.push({
        problem: `table ${name} has ${stats.modifiedSinceAnalyze} rows changed since it was last analyzed (${stats.lastAnalyzedAt?.toISOString()}; ${stats.liveRows} rows)`,
        fix: `ANALYZE ${name};`,
      });
    }
  }
  return warnings;
}

export function formatStatisticsWarnings(warnings: StatisticsWarning[]): string {
  if (warnings.length === 0) return 'postgres statistics: ok';
  return warnings.map((w) => `warning: ${w.problem}\n  fix: ${w.fix}`).join('\n');
}
