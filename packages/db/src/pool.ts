import { AppError } from '@rag/contracts/app-error';
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
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    application_name: options.applicationName,
    // Every connection works in the configured schema, so tests can isolate themselves in their own.
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export async function checkPostgres(pool: Queryable): Promise<void> {
  await pool.query('SELECT 1');
}

const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);

/** Maps driver errors to AppErrors: lost connections are retryable, the rest are bugs. */
export function postgresError(error: unknown, what: string): AppError {
  const code = (error as { code?: string }).code ?? '';
  if (
    connectionErrorCodes.has(code) ||
    /Connection terminated|timeout/i.test((error as Error).message ?? '')
  ) {
    return new AppError('dependency_unavailable', `PostgreSQL unavailable while ${what}`, { cause: error });
  }
  return new AppError('internal', `PostgreSQL error while ${what}: ${(error as Error).message}`, {
    cause: error,
  });
}
