// `pnpm backup [--data-dir .data] [--out backups] [--milvus auto|copy|rebuild]`: backs up the local stack
// (`pnpm start`) into a new folder: pg_dump of its PostgreSQL schema (custom format), object storage as a tar,
// Milvus Lite's data as a tar when the stack is stopped (else the vectors are rebuilt from PostgreSQL after a
// restore), the stack's id, admin key and settings, and a manifest with versions, the model's hash, the time,
// row counts and every file's sha256. Exit code 0 with the folder on the last line (backup=PATH), 1 on
// failure, 2 on a usage error.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeManifest } from './backup-manifest.mjs';
import { archiveFolder } from './directory-archive.mjs';
import { modelIdentity, resolveStackModel } from './model-identity.mjs';
import { dumpSchema } from './postgres-dump.mjs';
import { folderSize, OpsError, readStackDataDir, runningParts, stackFileNames } from './stack-data-dir.mjs';

const usage = 'usage: pnpm backup [--data-dir DIR] [--out DIR] [--milvus auto|copy|rebuild]';
const repoRoot = resolve(import.meta.dirname, '..', '..');

let options;
try {
  options = parseArgs({
    options: {
      'data-dir': { type: 'string', default: join(repoRoot, '.data') },
      out: { type: 'string', default: join(repoRoot, 'backups') },
      milvus: { type: 'string', default: 'auto' },
    },
  }).values;
  if (!['auto', 'copy', 'rebuild'].includes(options.milvus)) {
    throw new Error(`--milvus takes auto, copy or rebuild, not ${options.milvus}`);
  }
} catch (error) {
  console.error(`backup: ${error.message}\n${usage}`);
  process.exit(2);
}

try {
  const folder = await backUp(options);
  console.log(`backup=${folder}`);
} catch (error) {
  console.error(`backup: ${error instanceof OpsError ? error.message : error.stack}`);
  process.exitCode = 1;
}

async function backUp(options) {
  const started = Date.now();
  const stack = await readStackDataDir(options['data-dir']);
  const running = await runningParts(stack);
  // Milvus Lite's files are only consistent while no server has them open.
  if (options.milvus === 'copy' && running.length > 0) {
    throw new OpsError(
      `--milvus copy needs the stack stopped, and it runs (${running.join('; ')}); ` +
        'stop it, or leave --milvus out to rebuild the vectors from PostgreSQL after a restore',
    );
  }
  const milvusMode = options.milvus === 'auto' ? (running.length > 0 ? 'rebuild' : 'copy') : options.milvus;
  // The model the stack ran with (pnpm start writes MODEL_DIR into its env file), else the one it would run.
  const model = await modelIdentity(
    await resolveStackModel({
      dataDir: stack.dataDir,
      env: { ...process.env, ...pick(stack.env, ['MODEL_DIR', 'MODEL_MANIFEST']) },
    }),
  );

  const name = `${stack.stackId ?? 'stack'}-${new Date(started).toISOString().replace(/[:.]/g, '-')}`;
  const target = join(resolve(options.out), name);
  const partial = `${target}.partial`;
  if (existsSync(target)) throw new OpsError(`${target} exists already`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(join(partial, 'stack'), { recursive: true, mode: 0o700 });
  console.log(`==> backing up ${stack.dataDir} (schema ${stack.schema}) into ${target}`);
  if (running.length > 0) console.log(`    the stack runs (${running.join('; ')}): an online backup`);

  const files = ['postgres.dump', 'storage.tar'];
  console.log('==> PostgreSQL (pg_dump, custom format)');
  const postgres = await dumpSchema({
    databaseUrl: stack.databaseUrl,
    schema: stack.schema,
    file: join(partial, 'postgres.dump'),
  });
  // After the dump: every object a dumped document names was stored before its row was written.
  console.log('==> object storage');
  const storage = await folderSize(stack.storageRoot);
  await archiveFolder(stack.storageRoot, join(partial, 'storage.tar'));
  let milvus = { mode: 'rebuild' };
  if (milvusMode === 'copy') {
    console.log('==> Milvus Lite data (the stack is stopped: an exact copy)');
    milvus = { mode: 'copy', ...(await folderSize(stack.milvusDir)) };
    await archiveFolder(stack.milvusDir, join(partial, 'milvus.tar'));
    files.push('milvus.tar');
  }
  for (const file of stackFileNames) {
    if (!existsSync(join(stack.dataDir, file))) continue;
    await copyFile(join(stack.dataDir, file), join(partial, 'stack', file));
    files.push(`stack/${file}`);
  }

  const manifest = await writeManifest(
    partial,
    {
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      online: running.length > 0,
      stack: { id: stack.stackId ?? null, schema: stack.schema, redisKeyPrefix: stack.redisKeyPrefix },
      software: { node: process.version, pgServer: postgres.serverVersion },
      model,
      postgres: { counts: postgres.counts },
      storage,
      milvus,
    },
    files,
  );
  await rename(partial, target);
  const counts = manifest.postgres.counts;
  console.log(
    `✓ ${counts.documents} documents, ${counts.chunks} chunks, ${storage.files} stored objects; vectors: ${
      milvus.mode === 'copy' ? 'copied' : 'rebuilt from PostgreSQL after a restore'
    }; model ${model.name}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return target;
}

function pick(env, names) {
  return Object.fromEntries(names.filter((name) => env[name]).map((name) => [name, env[name]]));
}
