// The local stack's state as `pnpm start` lays it out in its data folder (.data): the settings it gave the
// services (local-stack.env), its id and admin key, object storage, and the Milvus Lite data folder. Backup and
// restore read it from here, so they find exactly what the stack uses.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

export const stackEnvFileName = 'local-stack.env';
/** Small files of the data folder that name the stack; a restore puts them back so `pnpm start` finds it. */
export const stackFileNames = ['stack-id', 'admin-api-key', stackEnvFileName];

export class OpsError extends Error {}

/**
 * Reads the data folder of a stack that `pnpm start` has run at least once.
 * @param {string} dir
 */
export async function readStackDataDir(dir) {
  const dataDir = resolve(dir);
  const envFile = join(dataDir, stackEnvFileName);
  if (!existsSync(envFile)) {
    throw new OpsError(
      `${envFile} does not exist: ${dataDir} holds no stack (pnpm start writes this file on its first start)`,
    );
  }
  const env = parseEnv(await readFile(envFile, 'utf8'));
  const missing = ['DATABASE_URL', 'DATABASE_SCHEMA', 'REDIS_URL', 'REDIS_KEY_PREFIX'].filter(
    (name) => !env[name],
  );
  if (missing.length > 0) throw new OpsError(`${envFile} lacks ${missing.join(', ')}`);
  if ((env.STORAGE_DRIVER ?? 'local') !== 'local') {
    throw new OpsError(
      `this stack keeps its objects in ${env.STORAGE_DRIVER} (STORAGE_DRIVER), which backup does not copy: ` +
        "protect the bucket with the provider's versioning and replication (README: Backup and restore)",
    );
  }
  return {
    dataDir,
    envFile,
    env,
    stackId: await readOptional(join(dataDir, 'stack-id')),
    schema: env.DATABASE_SCHEMA,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    storageRoot: resolve(env.STORAGE_ROOT ?? join(dataDir, 'storage')),
    milvusDir: join(dataDir, 'milvus'),
  };
}

async function readOptional(file) {
  return existsSync(file) ? (await readFile(file, 'utf8')).trim() : undefined;
}

/**
 * What of the stack runs now, one line each (empty when nothing does): a Milvus Lite server holds the lock of
 * its data folder while it runs, and the services answer on the addresses the env file names.
 * @param {{ milvusDir: string, env?: Record<string, string> }} stack
 */
export async function runningParts(stack) {
  const running = [];
  const lockFile = join(stack.milvusDir, 'LOCK');
  // flock(1) asks the kernel for the same lock Milvus Lite takes; -n answers at once instead of waiting.
  if (existsSync(lockFile) && spawnSync('flock', ['-n', lockFile, 'true']).status === 1) {
    running.push(`Milvus Lite holds ${lockFile}`);
  }
  const env = stack.env ?? {};
  const endpoints = [
    ['Milvus', env.MILVUS_ADDRESS && `http://${env.MILVUS_ADDRESS}`],
    ['the embedding service', env.EMBEDDING_SERVICE_URL],
    ['the search service', env.SEARCH_SERVICE_URL],
  ];
  for (const [name, url] of endpoints) {
    if (url && (await answers(url))) running.push(`${name} answers at ${url}`);
  }
  return running;
}

function answers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

/** Files and bytes under a folder (0 and 0 when it does not exist). */
export async function folderSize(dir) {
  let files = 0;
  let bytes = 0;
  if (!existsSync(dir)) return { files, bytes };
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}
