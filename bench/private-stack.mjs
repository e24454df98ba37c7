// A private stack for the benches and the evaluation: Milvus Lite, a fresh PostgreSQL schema, the four
// services started from their builds on free ports, and an admin key. Names (schema, Redis key prefix, Milvus
// collection prefix) carry a random tag, so several stacks can run side by side on one machine. stop() removes
// everything it made; SIGINT and SIGTERM stop it too and exit with 130.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');

/**
 * @param {object} options
 * @param {string} options.namePrefix  first part of the schema, Redis and Milvus names, e.g. "bench"
 * @param {string} [options.modelDir]  the embedding model; when unset the generated tiny model is used
 * @param {string} [options.modelManifest]
 * @param {boolean} [options.storageRoot]  give the services a temporary STORAGE_ROOT (uploaded files)
 * @param {boolean} [options.worker]  start the ingest worker (default true; a bench that writes its corpus
 *   straight into PostgreSQL and Milvus leaves it out)
 * @param {Record<string, string>} [options.env]  extra environment for every service
 * @param {Record<string, string>} [options.embeddingEnv]
 * @param {Record<string, string>} [options.searchEnv]
 * @param {Record<string, string>} [options.workerEnv]
 * @param {Record<string, string>} [options.gatewayEnv]
 * @param {(message: string) => void} [options.log]
 */
export async function startPrivateStack(options) {
  const { startMilvusLite } = await import('../packages/testing/dist/milvus-lite.js');
  const { startService } = await import('../packages/testing/dist/service-process.js');
  const { freePort } = await import('../packages/testing/dist/free-port.js');
  const log = options.log ?? (() => {});

  const cleanups = [];
  let modelDir = options.modelDir && resolve(options.modelDir);
  if (!modelDir) {
    const { writeTinyModel } = await import('../packages/models/dist/tiny-model.js');
    const tinyDir = await mkdtemp(join(tmpdir(), 'bench-tiny-'));
    cleanups.push(() => rm(tinyDir, { recursive: true, force: true }));
    await writeTinyModel(tinyDir);
    modelDir = tinyDir;
    log('MODEL_DIR not set: using the generated tiny model');
  }
  const tag = randomBytes(4).toString('hex');
  const adminKey = `admin_${randomBytes(24).toString('base64url')}`;
  const serviceToken = randomBytes(32).toString('hex');
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const schema = `${options.namePrefix}_${tag}`;
  const milvusCollectionPrefix = `${options.namePrefix}_${tag}_`;
  let storageRoot;
  if (options.storageRoot) {
    storageRoot = await mkdtemp(join(tmpdir(), 'bench-storage-'));
    cleanups.push(() => rm(storageRoot, { recursive: true, force: true }));
  }

  const services = [];
  let milvus;
  let stopping;
  // Services first (they hold connections), then Milvus, the schema and the temporary folders.
  const stop = () => {
    stopping ??= (async () => {
      for (const service of services.reverse()) await service.stop().catch(() => {});
      await milvus?.stop().catch(() => {});
      await dropSchema(databaseUrl, schema).catch((error) =>
        process.stderr.write(`could not drop schema ${schema}: ${error.message}\n`),
      );
      for (const cleanup of cleanups) await cleanup();
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      await stop();
      process.exit(130);
    });
  }

  try {
    milvus = await startMilvusLite();
    const [embeddingPort, searchPort, workerPort, gatewayPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const embeddingUrl = `http://127.0.0.1:${embeddingPort}`;
    const common = {
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      REDIS_KEY_PREFIX: `${options.namePrefix}_${tag}`,
      MILVUS_ADDRESS: milvus.address,
      MILVUS_COLLECTION_PREFIX: milvusCollectionPrefix,
      EMBEDDING_SERVICE_URL: embeddingUrl,
      SEARCH_SERVICE_URL: `http://127.0.0.1:${searchPort}`,
      SERVICE_TOKEN: serviceToken,
      ...(storageRoot ? { STORAGE_ROOT: storageRoot } : {}),
      ...options.env,
    };
    const pids = {};
    const managementUrls = {};
    const start = async (app, port, env) => {
      services.push(
        await startService({ app, repoRoot, port, readyTimeoutMs: 300_000, env: { ...common, ...env } }),
      );
      pids[app] = services.at(-1).process.pid;
      managementUrls[app] = services.at(-1).managementUrl;
      return services.at(-1);
    };
    await start('embedding-service', embeddingPort, {
      MODEL_DIR: modelDir,
      ...(options.modelManifest ? { MODEL_MANIFEST: resolve(options.modelManifest) } : {}),
      ...options.embeddingEnv,
    });
    await start('search-service', searchPort, { ...options.searchEnv });
    if (options.worker !== false) await start('ingest-worker', workerPort, { ...options.workerEnv });
    const gateway = await start('gateway', gatewayPort, { ADMIN_API_KEY: adminKey, ...options.gatewayEnv });
    return {
      gatewayUrl: gateway.url,
      searchUrl: `http://127.0.0.1:${searchPort}`,
      embeddingUrl,
      adminKey,
      serviceToken,
      databaseUrl,
      schema,
      milvusAddress: milvus.address,
      milvusCollectionPrefix,
      /** Process ids by part (Milvus Lite and the four services), for CPU accounting. */
      pids: { milvus: milvus.pid, ...pids },
      /** Each service's management listener (readiness, Prometheus metrics), by part. */
      managementUrls,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function dropSchema(databaseUrl, schema) {
  const pg = await import('pg');
  const db = new pg.default.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await db.end();
  }
}
