// `pnpm bench:search-during-ingest`: what a user's search costs while the system ingests, against the same
// searches with nothing else running, in the same run.
//
// Starts a private stack from the builds (Milvus Lite, a PostgreSQL schema, the four services, the worker at
// the product's defaults) with the model in MODEL_DIR (+ MODEL_MANIFEST; default: the quick start's
// multilingual-e5-small fp32 in .data/models, else the generated tiny model). It ingests the first --seed
// paragraphs of the corpus (default ../shared/data/eval/jsquad-valid/corpus.jsonl), then one client searches
// (POST /v1/search, --mode, distinct queries from the set's queries.jsonl, one at a time):
// - idle: for --idle-seconds with nothing else running;
// - ingesting: while the rest of the corpus goes in through POST .../documents/batch, until all is ready.
// Documents are --join consecutive paragraphs of the corpus each (default 20: a report of some twenty chunks;
// 1 sends the corpus as it is, a chunk or two per document): the ingest worker embeds a document's chunks
// together, so longer documents keep more passages waiting in the embedding service's queue.
// Per phase: searches, p50 and p99 of what the client waited, and the means of the search service's stages
// (Server-Timing: embed, milvus, db). Whatever a search's query waits for in the embedding service while the
// ingest's passages are queued or running shows in its embed stage. Last line: the p50 and p99 of both phases and
// their ratios (ingesting over idle), the embed stage's p50 in each, and the ingest's chunks per second.
// --rate N: the client starts at most N searches a second (0: back to back). Back to back, faster searches mean more
// of them, which take CPU from the ingest; at a fixed rate two runs put the same search load on the stack, so
// their ingest rates compare too.
// Options: --corpus PATH  --queries PATH  --seed 100  --join 20  --idle-seconds 20  --mode hybrid|dense|bm25
//          --rate 0
//          --limit N (the first N paragraphs only; a short smoke)
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPrivateStack } from './private-stack.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: resolve(repoRoot, '../shared/data/eval/jsquad-valid/corpus.jsonl') },
    queries: { type: 'string' },
    seed: { type: 'string', default: '100' },
    join: { type: 'string', default: '20' },
    limit: { type: 'string', default: '0' },
    'idle-seconds': { type: 'string', default: '20' },
    mode: { type: 'string', default: 'hybrid' },
    rate: { type: 'string', default: '0' },
  },
});

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const readJsonl = async (path) =>
  (await readFile(resolve(path), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

let paragraphs = await readJsonl(args.corpus);
if (Number(args.limit) > 0) paragraphs = paragraphs.slice(0, Number(args.limit));
const join = Math.max(1, Number(args.join));
const corpus = [];
for (let i = 0; i < paragraphs.length; i += join) {
  const part = paragraphs.slice(i, i + join);
  corpus.push({
    _id: join === 1 ? part[0]._id : `${part[0]._id}+${part.length}`,
    title: part[0].title,
    text: part.map((paragraph) => paragraph.text).join('\n\n'),
  });
}
const queries = (await readJsonl(args.queries ?? resolve(dirname(args.corpus), 'queries.jsonl'))).map(
  (query) => query.text,
);
const seedCount = Math.max(1, Math.min(Math.ceil(Number(args.seed) / join), corpus.length - 1));
log(
  `corpus: ${paragraphs.length} paragraphs in ${corpus.length} documents of ${join} (${seedCount} before the searches), ${queries.length} queries`,
);

const quickStartModel = resolve(repoRoot, '.data/models/multilingual-e5-small-fp32');
const stack = await startPrivateStack({
  namePrefix: 'bench',
  modelDir: process.env.MODEL_DIR ?? (existsSync(quickStartModel) ? quickStartModel : undefined),
  modelManifest: process.env.MODEL_MANIFEST,
  storageRoot: true,
  // Rate limits are not what this measures.
  gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '10000000', RATE_LIMIT_PER_CREDENTIAL: '10000000' },
  log,
});
const db = new pg.Pool({
  connectionString: stack.databaseUrl,
  options: `-c search_path=${stack.schema}`,
  max: 2,
});

const gateway = stack.gatewayUrl;
async function api(method, path, body) {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json() };
}

async function ingest(documents) {
  for (let i = 0; i < documents.length; i += 100) {
    const batch = documents
      .slice(i, i + 100)
      .map((doc) => ({ external_id: doc._id, title: doc.title, text: doc.text }));
    const answer = await api('POST', '/v1/collections/docs/documents/batch', { documents: batch });
    if (answer.status !== 200 || answer.body.rejected > 0)
      throw new Error(`batch at ${i}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
}

async function readyCount() {
  const { rows } = await db.query(
    "SELECT count(*) FILTER (WHERE status = 'ready')::int AS ready, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM documents",
  );
  if (rows[0].failed > 0) throw new Error(`${rows[0].failed} documents failed`);
  return rows[0].ready;
}

async function chunkCount() {
  return (await db.query('SELECT count(*)::int AS n FROM chunks')).rows[0].n;
}

let nextQuery = 0;
async function search() {
  const query = queries[nextQuery++ % queries.length];
  const started = performance.now();
  const response = await fetch(`${gateway}/v1/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ collection: 'docs', query, top_k: 10, mode: args.mode }),
  });
  const text = await response.text();
  const total = performance.now() - started;
  if (response.status !== 200) throw new Error(`search answered ${response.status}: ${text.slice(0, 300)}`);
  const stages = Object.fromEntries(
    (response.headers.get('server-timing') ?? '').split(',').map((part) => {
      const [metric, ...params] = part.trim().split(';');
      const duration = params.find((p) => p.startsWith('dur='));
      return [metric, duration ? Number(duration.slice(4)) : Number.NaN];
    }),
  );
  return { total, stages };
}

/** One client, one search at a time, until `done()` says so; at most --rate a second. */
async function searchUntil(done) {
  const interval = Number(args.rate) > 0 ? 1000 / Number(args.rate) : 0;
  const samples = [];
  let next = performance.now();
  while (!(await done())) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next + interval, performance.now());
    samples.push(await search());
  }
  return samples;
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;

function summarize(phase, samples) {
  const totals = samples.map((s) => s.total);
  const stage = (name) => samples.map((s) => s.stages[name]).filter((v) => Number.isFinite(v));
  return {
    phase,
    searches: samples.length,
    p50: quantile(totals, 0.5),
    p99: quantile(totals, 0.99),
    embedP50: quantile(stage('embed'), 0.5),
    embedMean: mean(stage('embed')),
    milvusMean: mean(stage('milvus')),
    dbMean: mean(stage('db')),
  };
}

let exitCode = 0;
try {
  if ((await api('POST', '/v1/collections', { name: 'docs' })).status !== 201)
    throw new Error('cannot create the collection');
  await ingest(corpus.slice(0, seedCount));
  while ((await readyCount()) < seedCount) await sleep(200);
  log(`${seedCount} documents ready; warming up`);
  for (let i = 0; i < 5; i++) await search();

  log(`idle: searching for ${args['idle-seconds']} s`);
  const idleEnds = performance.now() + Number(args['idle-seconds']) * 1000;
  const idle = summarize('idle', await searchUntil(async () => performance.now() > idleEnds));

  log(`ingesting ${corpus.length - seedCount} documents while searching`);
  const chunksBefore = await chunkCount();
  const ingestStarted = performance.now();
  const posting = ingest(corpus.slice(seedCount));
  let posted = false;
  posting.then(
    () => {
      posted = true;
    },
    () => {},
  );
  const during = await searchUntil(async () => posted && (await readyCount()) === corpus.length);
  await posting;
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  const ingestRate = ((await chunkCount()) - chunksBefore) / ingestSeconds;
  const ingesting = summarize('ingesting', during);

  const rows = [idle, ingesting];
  console.log(
    `\nSearch (${args.mode}, one client, distinct queries) idle and while ingesting; times in ms\n`,
  );
  console.log('| phase | searches | p50 | p99 | embed p50 | embed mean | milvus mean | db mean |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(
      `| ${row.phase} | ${row.searches} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.embedP50.toFixed(1)} | ${row.embedMean.toFixed(1)} | ${row.milvusMean.toFixed(1)} | ${row.dbMean.toFixed(1)} |`,
    );
  }
  console.log(
    `\ningest while searching: ${ingestRate.toFixed(1)} chunks/s over ${ingestSeconds.toFixed(1)} s\n`,
  );
  console.log(
    [
      `search_p50_idle_ms=${idle.p50.toFixed(1)}`,
      `search_p99_idle_ms=${idle.p99.toFixed(1)}`,
      `search_p50_ingesting_ms=${ingesting.p50.toFixed(1)}`,
      `search_p99_ingesting_ms=${ingesting.p99.toFixed(1)}`,
      `slowdown_p50=${(ingesting.p50 / idle.p50).toFixed(2)}`,
      `slowdown_p99=${(ingesting.p99 / idle.p99).toFixed(2)}`,
      `embed_p50_idle_ms=${idle.embedP50.toFixed(1)}`,
      `embed_p50_ingesting_ms=${ingesting.embedP50.toFixed(1)}`,
      `ingest_chunks_per_s=${ingestRate.toFixed(1)}`,
    ].join(' '),
  );
} catch (error) {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  exitCode = 1;
} finally {
  await db.end();
  await stack.stop();
}
process.exit(exitCode);
