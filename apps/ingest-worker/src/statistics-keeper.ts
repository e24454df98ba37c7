import type { Pool } from '@rag/db/pool';
import {
  analyzeTableOnce,
  bulkWrittenTables,
  readTableStatistics,
  type StalenessRule,
  statisticsState,
} from '@rag/db/table-statistics';
import type { Logger } from '@rag/telemetry/logger';

export interface StatisticsKeeperSettings extends StalenessRule {
  /** How often the tables' change counters are read; 0 turns the keeper off. */
  checkIntervalMs: number;
  /** The least time between two ANALYZEs of one table, whoever ran the first (another replica, autovacuum). */
  minIntervalMs: number;
}

export interface StatisticsKeeperDeps {
  pool: Pool;
  logger: Logger;
  settings: StatisticsKeeperSettings;
  now?: () => number;
}

/**
 * Keeps PostgreSQL's planner statistics fresh on the tables an ingest changes in bulk, off the request path.
 * Autovacuum would do it, but it may be off (it is on some installs, or per table), and a planner that
 * believes a collection is empty picks plans whose cost grows with it. PostgreSQL's own change counters
 * decide (shared by every replica and by autovacuum), and a table is analyzed at most once per
 * `minIntervalMs`.
 */
export function createStatisticsKeeper(deps: StatisticsKeeperDeps) {
  const now = deps.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string[]> | undefined;

  /** One pass: analyzes the tables whose statistics are missing or stale; returns the ones it analyzed. */
  async function check(): Promise<string[]> {
    const analyzed: string[] = [];
    for (const stats of await readTableStatistics(deps.pool, bulkWrittenTables)) {
      const state = statisticsState(stats, deps.settings);
      if (state === 'fresh') continue;
      const since = stats.lastAnalyzedAt ? now() - stats.lastAnalyzedAt.getTime() : Number.POSITIVE_INFINITY;
      if (since < deps.settings.minIntervalMs) continue;
      const started = performance.now();
      if (!(await analyzeTableOnce(deps.pool, stats.table))) continue;
      analyzed.push(stats.table);
      deps.logger.info(
        {
          table: stats.table,
          reason: state,
          modified_rows: stats.modifiedSinceAnalyze,
          live_rows: stats.liveRows,
          duration_ms: Math.round(performance.now() - started),
        },
        'analyzed table statistics',
      );
    }
    return analyzed;
  }

  function tick() {
    if (running) return;
    running = check()
      .catch((error: unknown) => {
        // PostgreSQL down or busy: the next tick tries again.
        deps.logger.warn({ err: error }, 'could not refresh table statistics');
        return [];
      })
      .finally(() => {
        running = undefined;
      });
  }

  return {
    check,
    start() {
      if (deps.settings.checkIntervalMs <= 0 || timer) return;
      timer = setInterval(tick, deps.settings.checkIntervalMs);
      timer.unref();
    },
    /** Stops the timer and waits for an ANALYZE under way. */
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type StatisticsKeeper = ReturnType<typeof createStatisticsKeeper>;
