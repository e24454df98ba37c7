// `pnpm bench:restore`: how long the local stack takes to come back from a backup, per 10k chunks, on each path.
//
// Starts a stack laid out as `pnpm start` lays out .data (in a temporary folder, on free ports; the generated
// tiny model, or MODEL_DIR), ingests about --chunks chunks in --documents documents through the public API, and
// stops it. Then, for each path: `pnpm backup`, every data store destroyed (schema, Redis keys, the folder),
// `pnpm restore`, and the stack started again until it is ready (the worker is ready once every
// collection has its vectors) and a search answers:
//   copy     the stopped stack's backup, Milvus Lite's files copied back;
//   rebuild  the same backup without Milvus (`--milvus rebuild`, as an online backup is): the ingest worker
//            embeds every chunk again from PostgreSQL at start, so this path runs at the model's speed.
// Prints a table and, last, key=value pairs with the seconds per 10k chunks of each path.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dropStackState, startDataDirStack } from './restore-stack.mjs';

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string', default: '10000' },
    documents: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
  },
});
const targetChunks = Number(args.chunks);
const documentCount = Number(args.documents);
if (!(targetChunks > 0 && documentCount > 0 && documentCount <= targetChunks)) {
  console.error('--chunks and --documents take positive numbers, --documents at most --chunks');
  process.exit(2);
}
const repoRoot = resolve(import.meta.dirname, '..');
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
const seconds = (since) => (performance.now() - since) / 1000;

// Distinct text, so chunks differ: words drawn from a small vocabulary by a seeded generator. About 150 words
// fill a 512-token chunk of the tiny model's tokenizer; the table reports the chunks the worker actually made.
const vocabulary = (
  'wing flow pressure boundary layer shock heat transfer velocity turbulent laminar surface model test ' +
  'numerical solution equation temperature supersonic nozzle plate cylinder drag lift mach number body ' +
  'budget travel policy office security invoice contract vendor network backup release audit storage'
).split(' ');
function documentText(seed, words) {
  let state = seed * 2654435761 + 1;
  const parts = [];
  for (let i = 0; i < words; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    parts.push(vocabulary[state % vocabulary.length]);
    if (i % 15 === 14) parts.push('.');
  }
  return parts.join(' ');
}

const commands = {
  backup: join(repoRoot, 'scripts', 'ops', 'backup.mjs'),
  restore: join(repoRoot, 'scripts', 'ops', 'restore.mjs'),
};
/** Runs `pnpm backup` or `pnpm restore` as those scripts run them; resolves with the output. */
function runOps(command, commandArgs, env) {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [commands[command], ...commandArgs],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? fail(new Error(`${command} failed:\n${stdout}${stderr}`)) : done(`${stdout}${stderr}`),
    );
  });
}

const workDir = await mkdtemp(join(tmpdir(), 'rag-restore-bench-'));
let modelDir = process.env.MODEL_DIR && resolve(process.env.MODEL_DIR);
if (!modelDir) {
  const { writeTinyModel } = await import('../packages/models/dist/tiny-model.js');
  modelDir = join(workDir, 'tiny-m3');
  await writeTinyModel(modelDir);
  log('MODEL_DIR not set: using the generated tiny model');
}
const dataDir = join(workDir, 'data');
let stack;
let names;
try {
  log('starting the stack');
  stack = await startDataDirStack({ dataDir, modelDir });
  names = { schema: stack.schema, redisKeyPrefix: stack.redisKeyPrefix };
  await stack.call('POST', '/v1/collections', { name: 'bench' });
  const wordsPerDocument = Math.ceil((targetChunks / documentCount) * 150);
  log(`ingesting ${documentCount} documents of ${wordsPerDocument} words`);
  const ingestStarted = performance.now();
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      while (next < documentCount) {
        const seed = next++;
        const answer = await stack.call('POST', '/v1/collections/bench/documents', {
          external_id: `doc-${seed}`,
          text: documentText(seed + 1, wordsPerDocument),
        });
        if (answer.status !== 202) throw new Error(`ingest: ${answer.status} ${JSON.stringify(answer.body)}`);
        ids.push(answer.body.id);
      }
    }),
  );
  for (const id of ids) {
    for (;;) {
      const { body } = await stack.call('GET', `/v1/documents/${id}`);
      if (body.status === 'ready') break;
      if (body.status === 'failed') throw new Error(`document ${id} failed: ${body.error}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  log(`ingested in ${seconds(ingestStarted).toFixed(1)} s`);
  await stack.stop();
  stack = undefined;

  const rows = [];
  for (const path of ['copy', 'rebuild']) {
    log(`path ${path}: backup`);
    const backupStarted = performance.now();
    const backupOutput = await runOps('backup', [
      '--data-dir',
      dataDir,
      '--out',
      join(workDir, 'backups'),
      '--milvus',
      path,
    ]);
    const backupS = seconds(backupStarted);
    const folder = /^backup=(.+)$/m.exec(backupOutput)[1];
    await dropStackState(names);
    await rm(dataDir, { recursive: true, force: true });
    log(`path ${path}: restore`);
    const restoreStarted = performance.now();
    const restoreOutput = await runOps('restore', [folder, '--data-dir', dataDir], { MODEL_DIR: modelDir });
    const restoreS = seconds(restoreStarted);
    const summary = Object.fromEntries(
      restoreOutput
        .trim()
        .split('\n')
        .at(-1)
        .split(' ')
        .map((pair) => pair.split('=')),
    );
    const chunks = Number(summary.chunks);
    log(`path ${path}: starting the stack`);
    const startStarted = performance.now();
    stack = await startDataDirStack({ dataDir, modelDir });
    const startS = seconds(startStarted);
    // The worker is ready once it has compared every collection with PostgreSQL and rebuilt what is missing,
    // so the start includes the rebuild; one search proves the collection answers.
    const probe = await stack.call('POST', '/v1/search', {
      collection: 'bench',
      query: 'wing flow',
      top_k: 5,
    });
    if (probe.status !== 200 || probe.body.results.length === 0) {
      throw new Error(`search after the restore: ${probe.status} ${JSON.stringify(probe.body)}`);
    }
    const totalS = restoreS + startS;
    rows.push({ path, chunks, backupS, restoreS, summary, startS, totalS });
    await stack.stop();
    stack = undefined;
  }

  console.log(`\nRestore of the local stack, model ${modelDir}\n`);
  console.log(
    '| path | chunks | backup s | restore s (postgres / storage / milvus) | start until ready s (vectors rebuilt) | total s | total s per 10k chunks |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const phases = `${row.summary.postgres_s} / ${row.summary.storage_s} / ${row.summary.milvus_s ?? '-'}`;
    console.log(
      `| ${row.path} | ${row.chunks} | ${row.backupS.toFixed(1)} | ${row.restoreS.toFixed(1)} (${phases}) | ${row.startS.toFixed(1)} | ${row.totalS.toFixed(1)} | ${((row.totalS * 10_000) / row.chunks).toFixed(1)} |`,
    );
  }
  const per10k = (row) => ((row.totalS * 10_000) / row.chunks).toFixed(1);
  const restorePer10k = (row) => ((row.restoreS * 10_000) / row.chunks).toFixed(1);
  console.log(
    `chunks=${rows[0].chunks} restore_copy_s_per_10k=${restorePer10k(rows[0])} total_copy_s_per_10k=${per10k(rows[0])} ` +
      `restore_rebuild_s_per_10k=${restorePer10k(rows[1])} total_rebuild_s_per_10k=${per10k(rows[1])}`,
  );
} finally {
  await stack?.stop();
  if (names) await dropStackState(names).catch(() => {});
  await rm(workDir, { recursive: true, force: true });
}
