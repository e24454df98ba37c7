import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PoolOptions {
  url: string;
  schema: string;
  poolSize: number;
  applicationName: string;
  /** How long to wait for a connection (a new one, or a free one of the pool) before failing. */
  connectTimeoutMs?: number;
  /**
   * Longest a query may run: PostgreSQL cancels it (statement_timeout), and the client gives up a second
   * later when the server does not answer at all (a hung server), so a request fails instead of waiting.
   */
  queryTimeoutMs?: number;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    application_name: options.applicationName,
    // Every connection works in the configured schema, so tests can isolate themselves in their own.
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    ...(options.queryTimeoutMs === undefined
      ? {}
      : { statement_timeout: options.queryTimeoutMs, query_timeout: options.queryTimeoutMs + 1_000 }),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    // A failed transaction's connection may be the broken or hung one: the pool drops it, not reuses it.
    client.release(failure);
  }
}

export async function checkPostgres(pool: Queryable): Promise<void> {
  await pool.query('SELECT 1');
}
