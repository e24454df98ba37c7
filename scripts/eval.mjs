// `pnpm eval <BEIR folder>`: measures search quality on a BEIR-layout data set (corpus.jsonl,
// queries.jsonl, qrels/test.tsv) through the public API. Sends every document as the API documents it,
// `{external_id, title, text}` (the title is never pasted into the text), waits until every document is
// ready, runs every query in each mode the model supports, and prints nDCG@10, Recall@100, MRR@10 and latency
// per mode as a table and as JSON (also written with --out FILE).
//
// Beside the product's rows it prints exact search with the same model on the same queries (eval-exact.mjs:
// dense, BM25 and their fusion, computed in this process from MODEL_DIR), so every run shows what indexing
// and serving cost. The last line is `hybrid_ndcg10=... best_single_ndcg10=... exact_fused_ndcg10=...`.
//
// Against a running gateway: --url URL --key KEY (or RAG_URL / RAG_API_KEY); exact search then needs
// MODEL_DIR (and MODEL_MANIFEST) of the model that gateway serves, else it is left out. Without --url it
// starts a private stack from the builds (Milvus Lite, PostgreSQL schema, the four services) with MODEL_DIR
// and MODEL_MANIFEST, and removes it at the end. Options: --modes dense,bm25,hybrid  --queries N (the first
// N queries with judgements)  --concurrency N  --keep (keep the collection)  --out results.json
// --fusion-study (more exact fusion rows: weights, RRF, z-score, 3-sigma)  --no-exact
//
// --exact-only skips the product (no stack, no ingestion) and prints only the exact rows: minutes instead of
// the better part of an hour, for studies. With it, --exact-k1 K --exact-b B --exact-candidates N set BM25's
// parameters and each signal's candidate depth for those rows (default: the product's).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mrrAt, ndcgAt, readJsonl, readQrels, recallAt } from './beir-set.mjs';
import { documentRanking, fusions, loadExactSearch } from './eval-exact.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    modes: { type: 'string' },
    queries: { type: 'string' },
    'limit-queries': { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'fusion-study': { type: 'boolean', default: false },
    'no-exact': { type: 'boolean', default: false },
    'exact-only': { type: 'boolean', default: false },
    'exact-k1': { type: 'string' },
    'exact-b': { type: 'string' },
    'exact-candidates': { type: 'string' },
  },
});
const folder = positionals[0];
if (!folder) {
  console.error(
    'usage: pnpm eval <BEIR folder> [--url URL --key KEY] [--modes dense,bm25,hybrid] [--out FILE]',
  );
  process.exit(2);
}
const concurrency = Number(args.concurrency);
const exactOnly = args['exact-only'];
const study = {
  k1: args['exact-k1'],
  b: args['exact-b'],
  candidates: args['exact-candidates'],
};
if (!exactOnly && Object.values(study).some((value) => value !== undefined)) {
  console.error('--exact-k1, --exact-b and --exact-candidates need --exact-only (the product uses its own)');
  process.exit(2);
}
if (exactOnly && (args['no-exact'] || !process.env.MODEL_DIR)) {
  console.error('--exact-only needs MODEL_DIR (and no --no-exact)');
  process.exit(2);
}

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool(items, limit, work) {
  let next = 0;
  const results = new Array(items.length);
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index);
      }
    }),
  );
  return results;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// --- the system under test ---
async function privateStack() {
  if (!process.env.MODEL_DIR) throw new Error('set MODEL_DIR (and MODEL_MANIFEST) or give --url and --key');
  const { startPrivateStack } = await import('../bench/private-stack.mjs');
  const stack = await startPrivateStack({
    namePrefix: 'eval',
    modelDir: process.env.MODEL_DIR,
    modelManifest: process.env.MODEL_MANIFEST,
    env: { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '1000000', RATE_LIMIT_PER_CREDENTIAL: '1000000' },
  });
  return { url: stack.gatewayUrl, key: stack.adminKey, stop: stack.stop };
}

function client(url, key) {
  return async function call(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      const ms = performance.now() - started;
      if (response.status === 429 && attempt < 20) {
        await new Promise((done) => setTimeout(done, 1000));
        continue;
      }
      return { status: response.status, body: text ? JSON.parse(text) : {}, ms };
    }
  };
}

/**
 * Ingests the documents through the public API into a new collection, waits until each is ready (building the
 * exact index meanwhile), and runs every query in each mode the product offers.
 */
async function measureProduct(documents) {
  collection =
    `eval-${dataset.replace(/[^a-z0-9-]/gi, '-').toLowerCase()}-${randomBytes(3).toString('hex')}`.slice(
      0,
      60,
    );
  const created = await call('POST', '/v1/collections', { name: collection });
  if (created.status !== 201)
    throw new Error(`creating ${collection}: ${created.status} ${JSON.stringify(created.body)}`);

  log(`ingesting ${documents.length} documents of ${dataset} into ${collection}`);
  const ingestStarted = performance.now();
  const ingested = pool(documents, 4, async (doc) => {
    const answer = await call('POST', `/v1/collections/${collection}/documents`, {
      external_id: doc.id,
      ...(doc.title ? { title: doc.title } : {}),
      text: doc.text,
    });
    if (answer.status !== 202 && answer.status !== 200) {
      throw new Error(`document ${doc.id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body.id;
  });
  // The exact index is built meanwhile (the product's latencies are measured later, with it idle).
  const exact = exactSearch ? exactSearch.index(documents) : undefined;
  exact?.catch(() => {});
  const documentIds = await ingested;

  // The queue runs roughly in order, so polling walks the pending documents from the front and stops at the
  // first one still in progress: a few requests per round instead of one per document.
  let pending = documentIds;
  let failed = 0;
  while (pending.length > 0) {
    let finished = 0;
    for (const id of pending) {
      const status = (await call('GET', `/v1/documents/${id}`)).body.status;
      if (status !== 'ready' && status !== 'failed') break;
      if (status === 'failed') failed++;
      finished++;
    }
    pending = pending.slice(finished);
    if (pending.length > 0) {
      log(`${documentIds.length - pending.length}/${documentIds.length} documents done`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  log(`ingested in ${ingestSeconds.toFixed(1)} s (${failed} failed)`);
  const exactIndex = await exact;

  // Which modes the model supports: sparse and ColBERT only where it has the heads.
  const probe = await call('POST', '/v1/search', { collection, query: 'probe', top_k: 1, mode: 'sparse' });
  const colbertProbe = await call('POST', '/v1/search', {
    collection,
    query: 'probe',
    top_k: 1,
    rerank: 'colbert',
  });
  const available = [
    ['dense', { mode: 'dense' }],
    ['bm25', { mode: 'bm25' }],
    ...(probe.status === 200 ? [['sparse', { mode: 'sparse' }]] : []),
    ['hybrid', { mode: 'hybrid' }],
    ['hybrid-rrf', { mode: 'hybrid', fusion: 'rrf' }],
    ...(colbertProbe.status === 200 ? [['hybrid+colbert', { mode: 'hybrid', rerank: 'colbert' }]] : []),
  ];
  const wanted = args.modes?.split(',');
  const modes = wanted ? available.filter(([name]) => wanted.includes(name)) : available;

  const results = [];
  for (const [name, settings] of modes) {
    log(`${name}: ${queries.length} queries`);
    const latencies = [];
    const scores = await pool(queries, concurrency, async (query) => {
      const answer = await call('POST', '/v1/search', {
        collection,
        query: String(query.text).slice(0, 4000),
        top_k: 100,
        group_by_document: true,
        ...settings,
      });
      if (answer.status !== 200)
        throw new Error(`query ${query._id} (${name}): ${answer.status} ${JSON.stringify(answer.body)}`);
      latencies.push(answer.ms);
      const ranked = answer.body.results.map((r) => r.external_id);
      const relevant = qrels.get(String(query._id));
      return {
        ndcg: ndcgAt(ranked, relevant, 10),
        recall: recallAt(ranked, relevant, 100),
        mrr: mrrAt(ranked, relevant, 10),
      };
    });
    const mean = (key) => scores.reduce((sum, s) => sum + s[key], 0) / scores.length;
    latencies.sort((a, b) => a - b);
    results.push({
      mode: name,
      ndcg_at_10: mean('ndcg'),
      recall_at_100: mean('recall'),
      mrr_at_10: mean('mrr'),
      latency_p50_ms: percentile(latencies, 50),
      latency_p95_ms: percentile(latencies, 95),
      queries: scores.length,
    });
  }
  return { documentIds, ingestSeconds, exactIndex, results };
}

// --- main ---
const corpus = await readJsonl(join(folder, 'corpus.jsonl'));
let queries = await readJsonl(join(folder, 'queries.jsonl'));
const qrels = await readQrels(join(folder, 'qrels', 'test.tsv'));
queries = queries.filter((q) => qrels.has(String(q._id)));
const queryLimit = args.queries ?? args['limit-queries'];
if (queryLimit) queries = queries.slice(0, Number(queryLimit));
const dataset = basename(resolve(folder));

const url = args.url ?? process.env.RAG_URL;
// The private stack stops itself on SIGINT and SIGTERM.
const stack = url || exactOnly ? undefined : await privateStack();
const exactSearch =
  args['no-exact'] || !process.env.MODEL_DIR
    ? undefined
    : await loadExactSearch({
        modelDir: process.env.MODEL_DIR,
        manifestPath: process.env.MODEL_MANIFEST,
        overlapTokens: Number(process.env.CHUNK_OVERLAP_TOKENS ?? 32),
        log,
        ...(study.k1 === undefined ? {} : { k1: Number(study.k1) }),
        ...(study.b === undefined ? {} : { b: Number(study.b) }),
        ...(study.candidates === undefined ? {} : { candidates: Number(study.candidates) }),
      });
if (!exactSearch) log('exact search left out (--no-exact, or no MODEL_DIR)');
const call = exactOnly
  ? undefined
  : client(url ?? stack.url, args.key ?? process.env.RAG_API_KEY ?? stack?.key);
let exitCode = 0;
let collection;
try {
  // Documents as a user sends them: the title in its own field, the text as it is. A document without text
  // cannot be sent (the API requires text) and is left out, and counted.
  const documents = corpus
    .filter((doc) => typeof doc.text === 'string' && doc.text.trim() !== '')
    .map((doc) => ({
      id: String(doc._id),
      text: doc.text,
      ...(typeof doc.title === 'string' && doc.title.trim() !== ''
        ? { title: doc.title.slice(0, 1000) }
        : {}),
    }));
  if (documents.length < corpus.length)
    log(`skipped ${corpus.length - documents.length} documents without text`);
  const product = exactOnly
    ? {
        documentIds: documents.map((doc) => doc.id),
        results: [],
        exactIndex: await exactSearch.index(documents),
      }
    : await measureProduct(documents);
  const { documentIds, ingestSeconds, exactIndex } = product;
  const results = product.results;

  if (exactIndex) {
    log(`exact search: ${queries.length} queries`);
    const lists = await exactIndex.search(queries.map((query) => String(query.text).slice(0, 4000)));
    const relevantOf = (index) => qrels.get(String(queries[index]._id));
    const exactRow = (name, rank) => {
      const scores = lists.map((signals, index) => {
        const ranked = documentRanking(rank(signals));
        const relevant = relevantOf(index);
        return {
          ndcg: ndcgAt(ranked, relevant, 10),
          recall: recallAt(ranked, relevant, 100),
          mrr: mrrAt(ranked, relevant, 10),
        };
      });
      const mean = (key) => scores.reduce((sum, s) => sum + s[key], 0) / scores.length;
      results.push({
        mode: name,
        exact: true,
        ndcg_at_10: mean('ndcg'),
        recall_at_100: mean('recall'),
        mrr_at_10: mean('mrr'),
        queries: scores.length,
      });
    };
    const both = (signals) => ({ dense: signals.dense, bm25: signals.bm25 });
    exactRow('exact dense', (signals) => signals.dense);
    exactRow('exact bm25', (signals) => signals.bm25);
    // The product's default fusion and weights (search-engine.ts defaultTuning, fusion.ts).
    const defaults = { dense: 0.6, bm25: 0.4 };
    exactRow('exact hybrid', (signals) => fusions.dbsf(both(signals), defaults));
    exactRow('exact hybrid-rrf', (signals) => fusions.rrf(both(signals), defaults));
    if (args['fusion-study']) {
      for (const name of ['dbsf', 'minmax', 'zscore', 'rrf']) {
        for (const dense of [0.3, 0.4, 0.5, 0.6, 0.7]) {
          const weights = { dense, bm25: Number((1 - dense).toFixed(2)) };
          exactRow(`exact ${name} d${dense}`, (signals) => fusions[name](both(signals), weights));
        }
      }
    }
  }

  const report = {
    dataset,
    documents: documentIds.length,
    queries: queries.length,
    ingest_seconds: ingestSeconds === undefined ? undefined : Number(ingestSeconds.toFixed(1)),
    model: process.env.MODEL_DIR ? basename(resolve(process.env.MODEL_DIR)) : undefined,
    exact_settings: exactSearch
      ? {
          bm25_k1: exactSearch.settings.bm25.k1,
          bm25_b: exactSearch.settings.bm25.b,
          candidates: exactSearch.settings.depth,
        }
      : undefined,
    results,
  };
  const pad = (value, width) => String(value).padEnd(width);
  const lines = [
    `${pad('mode', 22)}${pad('nDCG@10', 10)}${pad('R@100', 10)}${pad('MRR@10', 10)}${pad('p50 ms', 10)}p95 ms`,
    ...results.map(
      (r) =>
        `${pad(r.mode, 22)}${pad(r.ndcg_at_10.toFixed(4), 10)}${pad(r.recall_at_100.toFixed(4), 10)}${pad(
          r.mrr_at_10.toFixed(4),
          10,
        )}${r.exact ? pad('-', 10) : pad(r.latency_p50_ms.toFixed(1), 10)}${r.exact ? '-' : r.latency_p95_ms.toFixed(1)}`,
    ),
  ];
  const ndcgOf = (mode) => results.find((r) => r.mode === mode)?.ndcg_at_10;
  const singles = results.filter((r) => !r.exact && ['dense', 'bm25', 'sparse'].includes(r.mode));
  const summary = {
    hybrid_ndcg10: ndcgOf('hybrid'),
    best_single_ndcg10: singles.length > 0 ? Math.max(...singles.map((r) => r.ndcg_at_10)) : undefined,
    exact_fused_ndcg10: ndcgOf('exact hybrid'),
  };
  const exactNote = exactSearch
    ? `; exact rows: BM25 k1 ${exactSearch.settings.bm25.k1}, b ${exactSearch.settings.bm25.b}, ${exactSearch.settings.depth} candidates per signal`
    : '';
  console.log(`${dataset}: ${documentIds.length} documents, ${queries.length} queries${exactNote}`);
  console.log(lines.join('\n'));
  console.log(JSON.stringify(report));
  console.log(
    Object.entries(summary)
      .map(([key, value]) => `${key}=${value === undefined ? 'none' : value.toFixed(4)}`)
      .join(' '),
  );
  if (args.out) await writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
  if (call && collection && !args.keep) await call('DELETE', `/v1/collections/${collection}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  exitCode = 1;
} finally {
  await exactSearch?.close();
  await stack?.stop();
}
process.exit(exitCode);
