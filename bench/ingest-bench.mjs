// `pnpm bench:ingest`: end-to-end ingestion throughput (chunks/s) through the public API, against the
// embedding service alone on the same texts, measured in the same run.
//
// Starts a private stack from the builds (Milvus Lite, a PostgreSQL schema, the four services) with the model
// in MODEL_DIR (+ MODEL_MANIFEST), or the generated tiny model when unset. Phase 1 posts every document of
// the corpus (default ../shared/data/eval/jsquad-valid/corpus.jsonl) through POST .../documents/batch and
// waits until all are ready: ingest_chunks_per_s = chunks / (first request .. last document ready). Phase 2,
// "the embedding service alone": the texts the worker embedded (each stored chunk behind its context line,
// rebuilt as the worker's repair rebuilds them), in requests of at most --batch texts with --concurrency
// requests in flight: the worker's own limits (EMBED_BATCH_SIZE texts per request, WORKER_CONCURRENCY jobs,
// so at most that many requests at once), with nothing else running in the stack: embed_chunks_per_s.
// ratio = ingest / embed (1.0: the pipeline is bound by the model, not by plumbing). Phase 3 sends the
// chunker's two tokenize requests per chunk (its text with offsets, then behind its context line) one text per
// request: tokenize_cpu_ms_per_chunk is what they cost the embedding service.
// Each phase also reports CPU seconds per part of the stack (read from /proc), of the PostgreSQL backends serving
// the stack's connections, and the CPU the rest of the machine used (this script, its own PostgreSQL connections,
// and whatever else runs), with the load average at its start and end,
// so a ratio taken while neighbours took the CPU can be told from one lost in the pipeline.
// --embedding-env K=V (repeatable) sets the embedding service's environment, e.g. EMBED_SOLO_THREADS=0.
// The worker runs --concurrency jobs at once, by default the product's WORKER_CONCURRENCY default, so the ratio is
// what `pnpm start` gives. Phase 1 also reports the worker's resident memory (before, and its peak), how many of
// its job slots held a job on average (job_slots_busy), a job's mean time and the mean time of an embed request.
// Options: --corpus PATH  --concurrency N (worker jobs at once)  --batch 32 (texts per embed request)
//          --embed-concurrency N (requests in flight in phase 2; default: --concurrency)  --limit N
//          --cpu-prof DIR (the ingest worker writes a V8 CPU profile there when the stack stops)
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { defaultWorkerConcurrency } from '../apps/ingest-worker/dist/config.js';
import { embeddingBetween, embeddingCounters } from './embedding-batches.mjs';
import { startPrivateStack } from './private-stack.mjs';
import { cpuBetween, cpuSnapshot } from './process-cpu.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: resolve(repoRoot, '../shared/data/eval/jsquad-valid/corpus.jsonl') },
    concurrency: { type: 'string', default: String(defaultWorkerConcurrency) },
    batch: { type: 'string', default: '32' },
    'embed-concurrency': { type: 'string' },
    limit: { type: 'string', default: '0' },
    'idle-seconds': { type: 'string', default: '5' },
    'cpu-prof': { type: 'string' },
    'embedding-env': { type: 'string', multiple: true, default: [] },
  },
});
const concurrency = Number(args.concurrency);
const batchSize = Number(args.batch);
const embedConcurrency = Number(args['embed-concurrency'] ?? args.concurrency);

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** A process's resident memory now and its peak so far, in MiB (Linux /proc). */
function residentMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { now: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** Sums of Prometheus series by name (every label set together) from a management port's /metrics. */
async function metricSums(managementUrl, names) {
  const text = await (await fetch(`${managementUrl}/metrics`)).text();
  const sums = Object.fromEntries(names.map((name) => [name, 0]));
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (match && match[1] in sums) sums[match[1]] += Number(match[2]);
  }
  return sums;
}
const jobTimeSeries = [
  'ingest_job_duration_seconds_sum',
  'ingest_job_duration_seconds_count',
  'te_request_tokenization_duration_sum',
  'te_request_queue_duration_sum',
  'te_request_inference_duration_sum',
  'te_request_inference_duration_count',
];
async function jobTimeCounters() {
  return {
    ...(await metricSums(stack.managementUrls['ingest-worker'], jobTimeSeries.slice(0, 2))),
    ...(await metricSums(stack.managementUrls['embedding-service'], jobTimeSeries.slice(2))),
  };
}

const lines = (await readFile(resolve(args.corpus), 'utf8')).split('\n').filter((line) => line.trim() !== '');
let corpus = lines.map((line) => JSON.parse(line));
if (Number(args.limit) > 0) corpus = corpus.slice(0, Number(args.limit));
log(`corpus: ${corpus.length} documents from ${args.corpus}`);

const stack = await startPrivateStack({
  namePrefix: 'bench',
  modelDir: process.env.MODEL_DIR,
  modelManifest: process.env.MODEL_MANIFEST,
  storageRoot: true,
  embeddingEnv: Object.fromEntries(args['embedding-env'].map((pair) => pair.split(/=(.*)/s).slice(0, 2))),
  workerEnv: {
    WORKER_CONCURRENCY: String(concurrency),
    EMBED_BATCH_SIZE: String(batchSize),
    ...(args['cpu-prof']
      ? {
          NODE_OPTIONS: `--import ${pathToFileURL(resolve(repoRoot, 'bench/cpu-profile.mjs')).href}`,
          CPU_PROFILE_DIR: resolve(args['cpu-prof']),
        }
      : {}),
  },
  gatewayEnv: {
    RATE_LIMIT_PER_ADDRESS: '10000000',
    RATE_LIMIT_PER_CREDENTIAL: '10000000',
    BODY_LIMIT: '50mb',
  },
  log,
});
const { adminKey, serviceToken, embeddingUrl } = stack;
const embeddingMetrics = () => embeddingCounters(stack.managementUrls['embedding-service']);
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

  // --- Idle: what the stack burns with nothing to do (probes, polls, timers), per part ---
  const idleCpuFrom = cpuSnapshot(stack.pids, { postgres: true });
  await sleep(Number(args['idle-seconds']) * 1000);
  const idleCpu = cpuBetween(idleCpuFrom, cpuSnapshot(stack.pids, { postgres: true }));

  // --- Phase 1: the pipeline, through the public API ---
  const workerMemoryBefore = residentMiB(stack.pids['ingest-worker']);
  const jobTimeFrom = await jobTimeCounters();
  const ingestBatchesFrom = await embeddingMetrics();
  const ingestCpuFrom = cpuSnapshot(stack.pids, { postgres: true });
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
  const ingestCpu = cpuBetween(ingestCpuFrom, cpuSnapshot(stack.pids, { postgres: true }));
  const ingestBatches = embeddingBetween(ingestBatchesFrom, await embeddingMetrics());
  const workerMemory = residentMiB(stack.pids['ingest-worker']);
  // A job's time is recorded when it ends, a moment after its document shows ready.
  let jobTimeTo = await jobTimeCounters();
  for (let waited = 0; waited < 5000; waited += 50) {
    const jobsEnded =
      jobTimeTo.ingest_job_duration_seconds_count - jobTimeFrom.ingest_job_duration_seconds_count;
    if (jobsEnded >= corpus.length) break;
    await sleep(50);
    jobTimeTo = await jobTimeCounters();
  }
  const jobTime = Object.fromEntries(
    jobTimeSeries.map((name) => [name, jobTimeTo[name] - jobTimeFrom[name]]),
  );
  const { rows: chunkRows } = await db.query(
    `SELECT c.text, d.title, c.heading_path
       FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE d.external_id <> 'warm-up' ORDER BY c.document_id, c.ordinal`,
  );
  const ingestRate = chunkRows.length / ingestSeconds;
  log(
    `ingest: ${corpus.length} documents, ${chunkRows.length} chunks in ${ingestSeconds.toFixed(2)} s (posting took ${((posted - started) / 1000).toFixed(2)} s)`,
  );

  // --- Phase 2: the embedding service alone, on the texts the worker embedded ---
  // Each chunk behind its context line (the document's title and heading path, cut as the chunker cut it),
  // rebuilt as the worker's repair rebuilds it, so both phases embed the same tokens.
  const { storedChunkContexts } = await import('../apps/ingest-worker/dist/chunk-budget.js');
  const { createEmbeddingClient } = await import('../packages/service-clients/dist/embedding-client.js');
  const { contextualText } = await import('../packages/documents/dist/chunk-context.js');
  const lines = await storedChunkContexts(
    createEmbeddingClient({ baseUrl: embeddingUrl, serviceToken }),
    chunkRows.map((row) => ({ title: row.title, headingPath: row.heading_path, text: row.text })),
  );
  const texts = chunkRows.map((row, index) => contextualText(lines[index] ?? '', row.text));
  const batches = [];
  for (let i = 0; i < texts.length; i += batchSize) batches.push(texts.slice(i, i + batchSize));
  await sleep(1000); // the worker's last writes and the context lines' tokenizing settle first
  const embedBatchesFrom = await embeddingMetrics();
  const embedCpuFrom = cpuSnapshot(stack.pids, { postgres: true });
  const embedStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: embedConcurrency }, async () => {
      while (next < batches.length) {
        const inputs = batches[next++];
        const response = await fetch(`${embeddingUrl}/v1/embed`, {
          method: 'POST',
          headers: { 'x-service-token': serviceToken, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs, kind: 'passage', outputs }),
        });
        if (response.status !== 200) throw new Error(`embed: ${response.status} ${await response.text()}`);
        await response.json();
      }
    }),
  );
  const embedSeconds = (performance.now() - embedStarted) / 1000;
  const embedCpu = cpuBetween(embedCpuFrom, cpuSnapshot(stack.pids, { postgres: true }));
  const embedBatches = embeddingBetween(embedBatchesFrom, await embeddingMetrics());
  const embedRate = texts.length / embedSeconds;
  log(`embed: ${texts.length} texts in ${embedSeconds.toFixed(2)} s`);

  // --- Phase 3: what the chunker's tokenize requests cost the embedding service: per document, as the worker
  // asks them (the section with offsets, then the chunk behind its context line), --concurrency at a time.
  const tokenizeCpuFrom = cpuSnapshot(stack.pids, { postgres: true });
  const tokenizeClient = createEmbeddingClient({ baseUrl: embeddingUrl, serviceToken });
  let nextText = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nextText < texts.length) {
        const index = nextText++;
        for (const inputs of [[chunkRows[index].text], [texts[index]]])
          await tokenizeClient.tokenize({ inputs, addSpecialTokens: false, offsets: true });
      }
    }),
  );
  const tokenizeCpu = cpuBetween(tokenizeCpuFrom, cpuSnapshot(stack.pids, { postgres: true }));
  log(`tokenize: ${texts.length} texts twice in ${tokenizeCpu.seconds.toFixed(2)} s`);

  const ratio = ingestRate / embedRate;
  console.log('| measurement | chunks | seconds | chunks/s | load average (start→end) |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(
    `| ingest (public API → ready) | ${chunkRows.length} | ${ingestSeconds.toFixed(2)} | ${ingestRate.toFixed(1)} | ${ingestCpu.load} |`,
  );
  console.log(
    `| embedding service alone | ${texts.length} | ${embedSeconds.toFixed(2)} | ${embedRate.toFixed(1)} | ${embedCpu.load} |`,
  );
  // Where the CPU went in each phase: seconds per part, and per wall second (2.00 = two cores' worth).
  // PostgreSQL: the backends serving the stack's connections (not the bench's own).
  const partNames = Object.keys(ingestCpu.parts);
  const columns = (phase) => [...partNames.map((part) => phase.parts[part]), phase.postgres, phase.rest];
  console.log('');
  console.log(
    `| CPU seconds (per wall second) | ${[...partNames, 'postgresql', 'rest of the machine'].join(' | ')} |`,
  );
  console.log(`| --- |${' ---: |'.repeat(partNames.length + 2)}`);
  for (const [name, phase] of [
    ['idle', idleCpu],
    ['ingest', ingestCpu],
    ['embedding alone', embedCpu],
  ]) {
    const cells = columns(phase).map((cpu) => `${cpu.toFixed(1)} (${(cpu / phase.seconds).toFixed(2)})`);
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  // CPU milliseconds per chunk of each part, in each phase.
  console.log('');
  console.log(`| CPU ms per chunk | ${partNames.join(' | ')} | postgresql | rest of the machine |`);
  console.log(`| --- |${' ---: |'.repeat(partNames.length + 2)}`);
  for (const [name, phase] of [
    ['ingest', ingestCpu],
    ['embedding alone', embedCpu],
  ]) {
    const cells = columns(phase).map((cpu) => ((cpu / chunkRows.length) * 1000).toFixed(1));
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  // What the embedding service was asked and how it batched it (from its metrics).
  console.log('');
  console.log(
    '| embedding service | embed requests | tokenize requests | batches | texts/batch | real tokens/batch | padded tokens/batch | padded/real | batches by texts |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const [name, b] of [
    ['ingest', ingestBatches],
    ['embedding alone', embedBatches],
  ]) {
    console.log(
      `| ${name} | ${b.embedRequests} | ${b.tokenizeRequests} | ${b.batches} | ${b.textsPerBatch.toFixed(1)} | ${b.realTokensPerBatch.toFixed(0)} | ${b.paddedTokensPerBatch.toFixed(0)} | ${b.padding.toFixed(3)} | ${b.sizes} |`,
    );
  }
  const perChunk = (phase) => (phase.parts['embedding-service'] / chunkRows.length) * 1000;
  const stackCores = (phase) =>
    Object.entries(phase.parts)
      .filter(([part]) => part !== 'embedding-service')
      .reduce((sum, [, cpu]) => sum + cpu, 0) / phase.seconds;
  summary = [
    `model=${model.name}`,
    `documents=${corpus.length}`,
    `chunks=${chunkRows.length}`,
    `concurrency=${concurrency}`,
    `batch=${batchSize}`,
    `embed_concurrency=${embedConcurrency}`,
    `ingest_chunks_per_s=${ingestRate.toFixed(1)}`,
    `embed_chunks_per_s=${embedRate.toFixed(1)}`,
    `ratio=${ratio.toFixed(3)}`,
    `embed_cpu_ms_per_chunk_ingest=${perChunk(ingestCpu).toFixed(1)}`,
    `embed_cpu_ms_per_chunk_alone=${perChunk(embedCpu).toFixed(1)}`,
    `tokenize_cpu_ms_per_chunk=${perChunk(tokenizeCpu).toFixed(1)}`,
    `embed_cores_ingest=${(ingestCpu.parts['embedding-service'] / ingestCpu.seconds).toFixed(2)}`,
    `embed_cores_alone=${(embedCpu.parts['embedding-service'] / embedCpu.seconds).toFixed(2)}`,
    `stack_cores_ingest=${stackCores(ingestCpu).toFixed(2)}`,
    `stack_cores_idle=${stackCores(idleCpu).toFixed(3)}`,
    `texts_per_batch_ingest=${ingestBatches.textsPerBatch.toFixed(1)}`,
    `texts_per_batch_alone=${embedBatches.textsPerBatch.toFixed(1)}`,
    `padding_ingest=${ingestBatches.padding.toFixed(3)}`,
    `padding_alone=${embedBatches.padding.toFixed(3)}`,
    `other_cpu_ms_per_chunk_ingest=${(((stackCores(ingestCpu) * ingestCpu.seconds + ingestCpu.postgres) / chunkRows.length) * 1000).toFixed(1)}`,
    `worker_cpu_ms_per_chunk_ingest=${((ingestCpu.parts['ingest-worker'] / chunkRows.length) * 1000).toFixed(1)}`,
    `postgres_cpu_ms_per_chunk_ingest=${((ingestCpu.postgres / chunkRows.length) * 1000).toFixed(1)}`,
    `rest_cpu_per_s_ingest=${(ingestCpu.rest / ingestCpu.seconds).toFixed(2)}`,
    `rest_cpu_per_s_alone=${(embedCpu.rest / embedCpu.seconds).toFixed(2)}`,
    `job_slots_busy=${(jobTime.ingest_job_duration_seconds_sum / (ingestSeconds * concurrency)).toFixed(2)}`,
    `job_ms=${((jobTime.ingest_job_duration_seconds_sum / jobTime.ingest_job_duration_seconds_count) * 1000).toFixed(0)}`,
    `embed_request_ms=${(((jobTime.te_request_tokenization_duration_sum + jobTime.te_request_queue_duration_sum + jobTime.te_request_inference_duration_sum) / jobTime.te_request_inference_duration_count) * 1000).toFixed(0)}`,
    `embed_queue_ms=${((jobTime.te_request_queue_duration_sum / jobTime.te_request_inference_duration_count) * 1000).toFixed(0)}`,
    `embed_inference_ms=${((jobTime.te_request_inference_duration_sum / jobTime.te_request_inference_duration_count) * 1000).toFixed(0)}`,
    `worker_rss_mib_before=${workerMemoryBefore.now.toFixed(0)}`,
    `worker_rss_mib_peak=${workerMemory.peak.toFixed(0)}`,
  ].join(' ');
} finally {
  await stopAll();
}
console.log(summary);
