// `pnpm restore BACKUP [--data-dir .data] [--replace]`: puts a backup made by `pnpm backup` back under a local
// stack's data folder. It refuses, changing nothing, when the stack runs there, when the backup is incomplete or
// corrupt (its manifest's sizes and sha256), when the model this stack would run differs from the backup's, or
// when the target still holds data and --replace is not given. The stack's queues and caches in Redis are
// cleared (they belong to the state being replaced); vectors come back from the backup's copy, or are rebuilt
// from PostgreSQL by the ingest worker when the stack starts. Exit code 0 with timings on the last line, 1 when
// refused or failed, 2 on a usage error.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { Redis } from 'ioredis';
import { readVerifiedBackup } from './backup-manifest.mjs';
import { replaceFolderFromArchive } from './directory-archive.mjs';
import { modelIdentity, resolveStackModel } from './model-identity.mjs';
import { redact, restoreSchema, schemaTables } from './postgres-dump.mjs';
import { OpsError, runningParts, stackEnvFileName } from './stack-data-dir.mjs';

const usage = 'usage: pnpm restore BACKUP_FOLDER [--data-dir DIR] [--replace]';
const repoRoot = resolve(import.meta.dirname, '..', '..');

let options;
let backupDir;
try {
  const parsed = parseArgs({
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string', default: join(repoRoot, '.data') },
      replace: { type: 'boolean', default: false },
    },
  });
  options = parsed.values;
  if (parsed.positionals.length !== 1) throw new Error('name one backup folder');
  backupDir = parsed.positionals[0];
} catch (error) {
  console.error(`restore: ${error.message}\n${usage}`);
  process.exit(2);
}

try {
  await restore(backupDir, options);
} catch (error) {
  console.error(`restore: ${error instanceof OpsError ? error.message : error.stack}`);
  process.exitCode = 1;
}

async function restore(backupDir, options) {
  const started = Date.now();
  const { dir, manifest } = await readVerifiedBackup(backupDir);
  const backupEnv = parseEnv(await readFile(join(dir, 'stack', stackEnvFileName), 'utf8'));
  const target = await describeTarget(resolve(options['data-dir']), manifest, backupEnv);
  console.log(
    `==> restoring ${dir} (${manifest.createdAt}, ${manifest.postgres.counts.chunks} chunks) into ${target.dataDir}`,
  );

  const running = await runningParts(target);
  if (running.length > 0) {
    throw new OpsError(
      `the stack on ${target.dataDir} is running (${running.join('; ')}): stop it (Ctrl-C in pnpm start) first`,
    );
  }
  const model = await modelIdentity(await resolveStackModel({ dataDir: target.dataDir, env: process.env }));
  if (model.sha256 !== manifest.model.sha256) {
    throw new OpsError(
      `the backup was made with the model ${manifest.model.name} (sha256 ${manifest.model.sha256.slice(0, 12)}, ` +
        `from ${manifest.model.dir}), but this stack would run ${model.name} (sha256 ${model.sha256.slice(0, 12)}, ` +
        `from ${model.dir}): its vectors and token ids mean nothing to another model. Set MODEL_DIR (or MODEL) ` +
        "to the backup's model, or restore and then re-index the collections into the new model",
    );
  }
  const occupied = await occupiedBy(target, manifest);
  if (occupied.length > 0 && !options.replace) {
    throw new OpsError(
      `the target holds data that the restore would replace: ${occupied.join('; ')}. ` +
        'Pass --replace to replace it',
    );
  }

  const timings = [];
  const timed = async (phase, work) => {
    const phaseStarted = Date.now();
    const result = await work();
    timings.push([phase, (Date.now() - phaseStarted) / 1000]);
    return result;
  };
  console.log(`==> PostgreSQL schema ${manifest.stack.schema} on ${redact(target.databaseUrl)}`);
  const counts = await timed('postgres', () =>
    restoreSchema({
      databaseUrl: target.databaseUrl,
      schema: manifest.stack.schema,
      file: join(dir, 'postgres.dump'),
    }),
  );
  if (JSON.stringify(counts) !== JSON.stringify(manifest.postgres.counts)) {
    throw new OpsError(
      `the restored schema's rows ${JSON.stringify(counts)} differ from the backup's ${JSON.stringify(
        manifest.postgres.counts,
      )}`,
    );
  }
  console.log(`==> object storage into ${target.storageRoot}`);
  await timed('storage', () => replaceFolderFromArchive(join(dir, 'storage.tar'), target.storageRoot));
  if (manifest.milvus.mode === 'copy') {
    console.log(`==> Milvus Lite data into ${target.milvusDir}`);
    await timed('milvus', () => replaceFolderFromArchive(join(dir, 'milvus.tar'), target.milvusDir));
  } else {
    // Vectors of the replaced state could carry newer ACLs or metadata than the restored rows: start empty.
    await rm(target.milvusDir, { recursive: true, force: true });
  }
  const cleared = await timed('redis', () => clearRedisPrefix(target.redisUrl, target.redisKeyPrefix));
  await timed('stack files', () => writeStackFiles(dir, target, backupEnv));

  const seconds = (Date.now() - started) / 1000;
  console.log(
    `✓ restored ${counts.documents} documents and ${counts.chunks} chunks; cleared ${cleared} Redis keys under ${target.redisKeyPrefix}`,
  );
  console.log(
    manifest.milvus.mode === 'copy'
      ? '  Vectors were copied: start the stack (pnpm start) and search.'
      : '  Vectors are rebuilt from PostgreSQL by the ingest worker when the stack starts (pnpm start); until\n' +
          '  then search misses them. Check with: pnpm doctor --env-from .data/local-stack.env',
  );
  if (target.schemaNote) console.log(`  ${target.schemaNote}`);
  const phases = timings.map(([phase, s]) => `${phase.replace(' ', '_')}_s=${s.toFixed(2)}`).join(' ');
  console.log(
    `restore_s=${seconds.toFixed(2)} ${phases} chunks=${counts.chunks} milvus=${manifest.milvus.mode}`,
  );
}

/**
 * Where the next `pnpm start` on `dataDir` keeps its state, with the settings pnpm start would use: the
 * environment's DATABASE_URL, REDIS_URL and STORAGE_ROOT, else its defaults; the backup's stack id.
 */
async function describeTarget(dataDir, manifest, backupEnv) {
  const envFile = join(dataDir, stackEnvFileName);
  const existingEnv = existsSync(envFile) ? parseEnv(await readFile(envFile, 'utf8')) : undefined;
  const stackIdFile = join(dataDir, 'stack-id');
  const existingId = existsSync(stackIdFile) ? (await readFile(stackIdFile, 'utf8')).trim() : undefined;
  const stackId = manifest.stack.id;
  let schemaNote;
  if (process.env.DATABASE_SCHEMA && process.env.DATABASE_SCHEMA !== manifest.stack.schema) {
    schemaNote = `DATABASE_SCHEMA is set to ${process.env.DATABASE_SCHEMA}; start with DATABASE_SCHEMA=${manifest.stack.schema} to use the restored data`;
  }
  return {
    dataDir,
    // Running checks look at the addresses of whichever stack was last started here.
    env: existingEnv ?? backupEnv,
    existingId,
    stackId,
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisKeyPrefix: process.env.REDIS_KEY_PREFIX ?? manifest.stack.redisKeyPrefix,
    storageRoot: process.env.STORAGE_ROOT ? resolve(process.env.STORAGE_ROOT) : join(dataDir, 'storage'),
    milvusDir: join(dataDir, 'milvus'),
    schemaNote,
  };
}

/** What of the target's state a restore would overwrite, one line each. */
async function occupiedBy(target, manifest) {
  const occupied = [];
  if (target.existingId && target.existingId !== target.stackId) {
    occupied.push(`${target.dataDir} belongs to another stack (id ${target.existingId})`);
  }
  const tables = await schemaTables({ databaseUrl: target.databaseUrl, schema: manifest.stack.schema });
  if (tables > 0) occupied.push(`PostgreSQL schema ${manifest.stack.schema} has ${tables} tables`);
  for (const [what, dir] of [
    ['object storage', target.storageRoot],
    ['Milvus Lite', target.milvusDir],
  ]) {
    if (existsSync(dir) && (await readdir(dir)).length > 0) occupied.push(`${what} ${dir} is not empty`);
  }
  return occupied;
}

/** Deletes the keys of the stack's queues, caches and locks; returns how many. */
async function clearRedisPrefix(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
  } catch (error) {
    throw new OpsError(`Redis at ${redisUrl} is not reachable: ${error.message}`);
  }
  let deleted = 0;
  try {
    const escaped = prefix.replace(/[*?[\]\\]/g, '\\$&');
    // Keys on one server start with the prefix; on a Redis Cluster BullMQ wraps it in a hash tag.
    for (const pattern of [`${escaped}:*`, `{${escaped}}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** The stack id, admin key and settings, so `pnpm start` finds the restored schema and key prefix. */
async function writeStackFiles(backupDir, target, backupEnv) {
  await mkdir(target.dataDir, { recursive: true });
  for (const name of ['stack-id', 'admin-api-key']) {
    const source = join(backupDir, 'stack', name);
    if (existsSync(source))
      await writeFile(join(target.dataDir, name), await readFile(source), { mode: 0o600 });
  }
  // The settings as pnpm start will write them, for tools run before it (pnpm doctor --env-from).
  const env = {
    ...backupEnv,
    DATABASE_URL: target.databaseUrl,
    REDIS_URL: target.redisUrl,
    STORAGE_ROOT: target.storageRoot,
  };
  await writeFile(
    join(target.dataDir, stackEnvFileName),
    Object.entries(env)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
    { mode: 0o600 },
  );
}
