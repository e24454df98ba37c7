// The local stack exactly as `pnpm start` lays out its data folder (stack-id, admin-api-key, local-stack.env,
// storage/, milvus/; schema local_<id>_<model folder>; Redis prefix rag_<id>), but in a folder of the caller's
// choosing and on free ports, so the backup-and-restore test and bench work on their own copy. Starting it
// again on the same folder finds the same state, as `pnpm start` does after a restore.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
export const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * @param {{ dataDir: string, modelDir: string, workerEnv?: Record<string, string> }} options
 */
export async function startDataDirStack(options) {
  const { startMilvusLite } = await import('../packages/testing/dist/milvus-lite.js');
  const { startService } = await import('../packages/testing/dist/service-process.js');
  const { freePort } = await import('../packages/testing/dist/free-port.js');
  const dataDir = resolve(options.dataDir);
  const modelDir = resolve(options.modelDir);
  await mkdir(dataDir, { recursive: true });
  const kept = async (name, generate) => {
    const file = join(dataDir, name);
    if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
    const value = generate();
    await writeFile(file, `${value}\n`, { mode: 0o600 });
    return value;
  };
  const adminKey = await kept('admin-api-key', () => `admin_${randomBytes(24).toString('base64url')}`);
  const stackId = await kept('stack-id', () => randomBytes(4).toString('hex'));
  const schema = `local_${stackId}_${basename(modelDir)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 40)}`;

  const services = [];
  let milvus;
  const stop = async () => {
    for (const service of services.reverse()) await service.stop().catch(() => {});
    services.length = 0;
    await milvus?.stop().catch(() => {});
  };
  try {
    milvus = await startMilvusLite({ dataDir: join(dataDir, 'milvus') });
    const [embedding, search, worker, gateway] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const common = {
      LOG_LEVEL: 'warn',
      DATABASE_SCHEMA: schema,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `rag_${stackId}`,
      RAG_BASE_DIR: repoRoot,
      STORAGE_ROOT: join(dataDir, 'storage'),
      MILVUS_ADDRESS: milvus.address,
      EMBEDDING_SERVICE_URL: `http://127.0.0.1:${embedding}`,
      SEARCH_SERVICE_URL: `http://127.0.0.1:${search}`,
      SERVICE_TOKEN: randomBytes(32).toString('hex'),
    };
    await writeFile(
      join(dataDir, 'local-stack.env'),
      Object.entries({ ...common, MODEL_DIR: modelDir })
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
      { mode: 0o600 },
    );
    const start = async (app, port, env = {}) => {
      services.push(
        await startService({ app, repoRoot, port, readyTimeoutMs: 300_000, env: { ...common, ...env } }),
      );
    };
    await start('embedding-service', embedding, { MODEL_DIR: modelDir });
    await start('search-service', search);
    await start('ingest-worker', worker, options.workerEnv);
    await start('gateway', gateway, { ADMIN_API_KEY: adminKey });
  } catch (error) {
    await stop();
    throw error;
  }
  const gatewayUrl = services.at(-1).url;

  /** A JSON call to the public API, with the admin key unless another is given. */
  async function call(method, path, body, key = adminKey) {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  }

  return {
    dataDir,
    schema,
    redisKeyPrefix: `rag_${stackId}`,
    adminKey,
    gatewayUrl,
    services,
    call,
    /** Stops the services and Milvus Lite; the data stays. */
    stop,
  };
}

/** Drops the stack's schema and its Redis keys; the caller removes the folder. */
export async function dropStackState({ schema, redisKeyPrefix }) {
  const pg = (await import('pg')).default;
  const { Redis } = await import('ioredis');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await db.end();
  }
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisKeyPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
