// `pnpm bench:ingest`: end-to-end ingestion throughput (chunks/s) through the public API, against the
// embedding service's own throughput on the same chunks, measured in the same run.
//
// Starts a private stack from the builds (Milvus Lite, a PostgreSQL schema, the four services) with the model
// in MODEL_DIR (+ MODEL_MANIFEST), or the generated tiny model when unset. Phase 1 posts every document of
// the corpus (default ../shared/data/eval/jsquad-valid/corpus.jsonl) through POST .../documents/batch and
// waits until all are ready: ingest_chunks_per_s = chunks / (first request .. last document ready). Phase 2
// reads back the exact chunk texts the pipeline produced and sends them straight to the embedding service
// (batches of --batch texts, --embed-concurrency requests in flight, enough to keep the service's inference
// workers busy without queueing past its deadline; same outputs): embed_chunks_per_s. ratio = ingest / embed (1.0: the pipeline is bound by the model, not by plumbing).
// Options: --corpus PATH  --concurrency 16 (worker jobs at once)  --batch 32 (chunks per embed call)
//          --embed-concurrency 2  --limit N (first N documents)
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPrivateStack } from './private-stack.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: resolve(repoRoot, '../shared/data/eval/jsquad-valid/corpus.jsonl') },
    concurrency: { type: 'string', default: '16' },
    batch: { type: 'string', default: '32' },
    'embed-concurrency': { type: 'string', default: '2' },
    limit: { type: 'string', default: '0' },
  },
});
const concurrency = Number(args.concurrency);
const batchSize = Number(args.batch);
const embedConcurrency = Number(args['embed-concurrency']);

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const lines = (await readFile(resolve(args.corpus), 'utf8')).split('\n').filter((line) => line.trim() !== '');
let corpus = lines.map((line) => JSON.parse(line));
if (Number(args.limit) > 0) corpus = corpus.slice(0, Number(args.limit));
log(`corpus: ${corpus.length} documents from ${args.corpus}`);

const stack = await startPrivateStack({
  namePrefix: 'bench',
  modelDir: process.env.MODEL_DIR,
  modelManifest: process.env.MODEL_MANIFEST,
  storageRoot: true,
  workerEnv: { WORKER_CONCURRENCY: String(concurrency), EMBED_BATCH_SIZE: String(batchSize) },
  gatewayEnv: {
    RATE_LIMIT_PER_ADDRESS: '10000000',
    RATE_LIMIT_PER_CREDENTIAL: '10000000',
    BODY_LIMIT: '50mb',
  },
  log,
});
const { adminKey, serviceToken, embeddingUrl } = stack;
const db = new pg.Pool({
  connectionString: stack.databaseUrl,
  options: `-c search_path=${stack.schema}`,
  max: 2,
});
async function stopAll() {
  await db.end();
  await stack.stop();
}

let summary;
try {
  const gateway = stack.gatewayUrl;
  const api = async (method, path, body) => {
    const response = await fetch(`${gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };
  const model = await (
    await fetch(`${embeddingUrl}/v1/model`, { headers: { 'x-service-token': serviceToken } })
  ).json();
  const outputs = model.outputs.sparse ? ['dense', 'sparse'] : ['dense'];
  log(
    `model ${model.name} (dim ${model.dim}, max ${model.maxLength} tokens), worker concurrency ${concurrency}, batch ${batchSize}`,
  );
  if ((await api('POST', '/v1/collections', { name: 'jsquad' })).status !== 201)
    throw new Error('cannot create the collection');

  // Warm-up: one document end to end, so model loading and first-call costs stay out of both measurements.
  const warm = await api('POST', '/v1/collections/jsquad/documents', {
    external_id: 'warm-up',
    text: 'ウォームアップの文書です。',
  });
  while (
    (await db.query('SELECT status FROM documents WHERE id = $1', [warm.body.id])).rows[0]?.status !== 'ready'
  )
    await sleep(100);

  // --- Phase 1: the pipeline, through the public API ---
  const started = performance.now();
  for (let i = 0; i < corpus.length; i += 100) {
    const documents = corpus
      .slice(i, i + 100)
      .map((doc) => ({ external_id: doc._id, title: doc.title, text: doc.text }));
    const answer = await api('POST', '/v1/collections/jsquad/documents/batch', { documents });
    if (answer.status !== 200 || answer.body.rejected > 0)
      throw new Error(`batch at ${i}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
  const posted = performance.now();
  let lastReport = 0;
  for (;;) {
    const { rows } = await db.query(
      "SELECT count(*) FILTER (WHERE status = 'ready')::int AS ready, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM documents WHERE external_id <> 'warm-up'",
    );
    const { ready, failed } = rows[0];
    if (failed > 0) throw new Error(`${failed} documents failed`);
    if (ready === corpus.length) break;
    if (performance.now() - lastReport > 10_000) {
      log(`  ${ready}/${corpus.length} ready`);
      lastReport = performance.now();
    }
    await sleep(50);
  }
  const ingestSeconds = (performance.now() - started) / 1000;
  const { rows: chunkRows } = await db.query(
    "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id <> 'warm-up' ORDER BY c.document_id, c.ordinal",
  );
  const chunks = chunkRows.map((r) => r.text);
  const ingestRate = chunks.length / ingestSeconds;
  log(
    `ingest: ${corpus.length} documents, ${chunks.length} chunks in ${ingestSeconds.toFixed(2)} s (posting took ${((posted - started) / 1000).toFixed(2)} s)`,
  );

  // --- Phase 2: the embedding service alone, on the same chunks ---
  const batches = [];
  for (let i = 0; i < chunks.length; i += batchSize) batches.push(chunks.slice(i, i + batchSize));
  const embedStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: embedConcurrency }, async () => {
      while (next < batches.length) {
        const texts = batches[next++];
        const response = await fetch(`${embeddingUrl}/v1/embed`, {
          method: 'POST',
          headers: { 'x-service-token': serviceToken, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: texts, kind: 'passage', outputs }),
        });
        if (response.status !== 200) throw new Error(`embed: ${response.status} ${await response.text()}`);
        await response.json();
      }
    }),
  );
  const embedSeconds = (performance.now() - embedStarted) / 1000;
  const embedRate = chunks.length / embedSeconds;
  log(`embed: ${chunks.length} chunks in ${embedSeconds.toFixed(2)} s`);

  const ratio = ingestRate / embedRate;
  console.log('| measurement | chunks | seconds | chunks/s |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| ingest (public API → ready) | ${chunks.length} | ${ingestSeconds.toFixed(2)} | ${ingestRate.toFixed(1)} |`,
  );
  console.log(
    `| embedding service alone | ${chunks.length} | ${embedSeconds.toFixed(2)} | ${embedRate.toFixed(1)} |`,
  );
  summary = [
    `model=${model.name}`,
    `documents=${corpus.length}`,
    `chunks=${chunks.length}`,
    `concurrency=${concurrency}`,
    `batch=${batchSize}`,
    `embed_concurrency=${embedConcurrency}`,
    `ingest_chunks_per_s=${ingestRate.toFixed(1)}`,
    `embed_chunks_per_s=${embedRate.toFixed(1)}`,
    `ratio=${ratio.toFixed(3)}`,
  ].join(' ');
} finally {
  await stopAll();
}
console.log(summary);
