// `pnpm bench:search`: search latency and throughput through the gateway on corpora of 10k and 100k chunks.
//
// Starts a private stack from the builds (Milvus Lite, a PostgreSQL schema, the four services) with the model
// in MODEL_DIR (+ MODEL_MANIFEST), or the generated tiny model when unset. The corpora are synthetic and
// written straight into PostgreSQL and Milvus (ingesting 100k chunks through the embedding model would take
// hours on a laptop): random unit dense vectors, learned-sparse weights when the model has them, and token ids
// drawn from a Zipf distribution, whose BM25 vectors and statistics are built exactly as ingestion builds
// them. Queries are distinct random word sequences (so neither cache helps) sent by --concurrency clients for
// --seconds per corpus. The service overhead is the request time minus embedding and Milvus time, both taken
// from the Server-Timing header the gateway returns, as a share of the request time. The last line is
// key=value pairs. Options: --sizes 10000,100000  --concurrency 8  --seconds 20  --mode hybrid
// --rerank colbert (the re-rank's mean time is reported as rerank_ms_mean)
// --compare direct|none: with direct (the default) every client sends every other search straight to the
// search service (its internal route), so the same run shows what the gateway adds at the median
// (gateway_added_p50_ms: gateway p50 minus direct p50) and the gateway's own time around its call to the
// search service (gateway_own_p50_ms, from Server-Timing); QPS and the percentiles are the gateway's.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPrivateStack } from './private-stack.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    mode: { type: 'string', default: 'hybrid' },
    rerank: { type: 'string', default: 'none' },
    compare: { type: 'string', default: 'direct' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const concurrency = Number(args.concurrency);
const seconds = Number(args.seconds);

const { createMilvusStore } = await import(`${repoRoot}/packages/vector-store/dist/milvus-store.js`);
const { bm25DocumentVector } = await import(`${repoRoot}/packages/lexical/dist/bm25.js`);

function log(message) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

// A small deterministic generator, so two runs measure the same corpus.
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
// Token ids with a Zipf-like frequency (rank^-1), over a vocabulary slice of real-looking ids.
const vocabularyStart = 1000;
const vocabularySize = 30_000;
function zipfToken() {
  return vocabularyStart + Math.floor(Math.exp(random() * Math.log(vocabularySize))) - 1;
}
const words = (
  'policy travel budget office holiday printer security laptop parking meeting invoice contract salary ' +
  'customer support ticket release deploy server network storage backup restore incident report quarter ' +
  'revenue forecast hiring training safety fire exit kitchen coffee desk chair badge password account'
).split(' ');
function randomQuery() {
  const length = 3 + Math.floor(random() * 5);
  return (
    Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(' ') +
    ` ${Math.floor(random() * 1e6)}`
  );
}
function randomSparse(tokens) {
  const indices = [...new Set(tokens.slice(0, 20))].sort((a, b) => a - b);
  return { indices, values: indices.map(() => 0.05 + random()) };
}
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

// --- the stack ---
const stack = await startPrivateStack({
  namePrefix: 'bench',
  modelDir: process.env.MODEL_DIR,
  modelManifest: process.env.MODEL_MANIFEST,
  gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '10000000', RATE_LIMIT_PER_CREDENTIAL: '10000000' },
  log,
});
const { adminKey, serviceToken, schema } = stack;
const db = new pg.Pool({ connectionString: stack.databaseUrl, options: `-c search_path=${schema}`, max: 4 });
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
    return {
      status: response.status,
      body: await response.json(),
      timing: response.headers.get('server-timing') ?? '',
    };
  };
  const model = await (
    await fetch(`${stack.embeddingUrl}/v1/model`, {
      headers: { 'x-service-token': serviceToken },
    })
  ).json();
  const space = { model: model.name, dim: model.dim, hasSparse: model.outputs.sparse };
  const store = createMilvusStore({
    address: stack.milvusAddress,
    collectionPrefix: stack.milvusCollectionPrefix,
    space,
  });
  await store.ensureReady();
  await api('POST', '/v1/tenants', { id: 'bench' });
  const benchKey = (await api('POST', '/v1/api-keys', { tenant: 'bench', role: 'admin' })).body.key;
  const { rows: readyColumn } = await db.query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'documents' AND column_name = 'ready_version'`,
    [schema],
  );

  const results = [];
  for (const size of sizes) {
    const name = `bench-${size}`;
    const created = await fetch(`${gateway}/v1/collections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${benchKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (created.status !== 201) throw new Error(`creating ${name}: ${created.status}`);
    const { rows } = await db.query('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [
      'bench',
      name,
    ]);
    const collectionId = rows[0].id;
    log(`writing ${size} synthetic chunks into ${name}`);
    const chunkLength = 120;
    const batch = 2000;
    for (let start = 0; start < size; start += batch) {
      const count = Math.min(batch, size - start);
      // One document per 4 chunks.
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
        tokens: Array.from({ length: chunkLength }, zipfToken),
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
          chunks.map(() =>
            Array.from({ length: 30 }, () => words[Math.floor(random() * words.length)]).join(' '),
          ),
          chunks.map((c) => `{${c.tokens.join(',')}}`),
        ],
      );
      await store.insert(
        chunks.map((c) => ({
          chunkId: c.id,
          tenantId: 'bench',
          collectionId,
          documentId: c.documentId,
          dense: unitVector(space.dim),
          ...(space.hasSparse ? { sparse: randomSparse(c.tokens) } : {}),
          bm25: bm25DocumentVector(c.tokens, chunkLength),
          metadata: {},
          acl: null,
        })),
      );
      if ((start / batch) % 10 === 9) log(`  ${start + count} chunks`);
    }
    await store.flush();

    log(`${name}: ${args.mode} queries, ${concurrency} clients, ${seconds} s`);
    // Warm-up: load the collection and the model's first batches.
    const warmStarted = performance.now();
    for (let i = 0; i < 5; i++) {
      const warm = await fetch(`${gateway}/v1/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${benchKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ collection: name, query: randomQuery(), mode: args.mode }),
      });
      if (warm.status === 200) continue;
      const problem = await warm.text();
      // Right after a large insert Milvus may still be building the index; give it time.
      if (warm.status !== 504 || performance.now() - warmStarted > 15 * 60_000) {
        throw new Error(`warm-up search failed: ${warm.status} ${problem}`);
      }
      log('  index still building; retrying the warm-up search');
      i--;
    }
    const latencies = [];
    // The same searches sent to the search service directly (its internal route, the service token), in
    // the same run and by the same clients, turn by turn: what the gateway adds is the difference.
    const directLatencies = [];
    const gatewayOwnMs = [];
    let requestMs = 0;
    let embedMs = 0;
    let milvusMs = 0;
    let rerankMs = 0;
    let errors = 0;
    let cached = 0;
    const compareDirect = args.compare === 'direct';
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, client) => {
        let turn = client;
        while (performance.now() < deadline) {
          const direct = compareDirect && turn++ % 2 === 1;
          const sent = performance.now();
          const request = { query: randomQuery(), top_k: 10, mode: args.mode, rerank: args.rerank };
          const response = direct
            ? await fetch(`${stack.searchUrl}/v1/search`, {
                method: 'POST',
                headers: { 'x-service-token': serviceToken, 'content-type': 'application/json' },
                body: JSON.stringify({
                  tenantId: 'bench',
                  collectionId,
                  query: request.query,
                  topK: request.top_k,
                  mode: request.mode,
                  rerank: request.rerank,
                  groupByDocument: false,
                  principals: null,
                }),
              })
            : await fetch(`${gateway}/v1/search`, {
                method: 'POST',
                headers: { authorization: `Bearer ${benchKey}`, 'content-type': 'application/json' },
                body: JSON.stringify({ collection: name, ...request }),
              });
          const text = await response.text();
          const elapsed = performance.now() - sent;
          if (response.status !== 200) {
            if (errors === 0)
              log(`first error (${direct ? 'direct' : 'gateway'}): ${response.status} ${text}`);
            errors++;
            continue;
          }
          if (direct) {
            directLatencies.push(elapsed);
            continue;
          }
          const timing = Object.fromEntries(
            (response.headers.get('server-timing') ?? '').split(',').map((part) => {
              const [metric, ...params] = part.trim().split(';');
              const duration = params.find((p) => p.startsWith('dur='));
              return [metric, duration ? Number(duration.slice(4)) : params.join(';')];
            }),
          );
          if (timing.cache) cached++;
          latencies.push(elapsed);
          requestMs += timing.gateway ?? elapsed;
          embedMs += timing.embed ?? 0;
          milvusMs += timing.milvus ?? 0;
          rerankMs += timing.rerank ?? 0;
          if (timing.gateway !== undefined && timing.search !== undefined) {
            gatewayOwnMs.push(timing.gateway - timing.search);
          }
        }
      }),
    );
    const wall = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    directLatencies.sort((a, b) => a - b);
    gatewayOwnMs.sort((a, b) => a - b);
    const result = {
      chunks: size,
      requests: latencies.length,
      errors,
      cached,
      qps: latencies.length / wall,
      p50_ms: percentile(latencies, 50),
      p95_ms: percentile(latencies, 95),
      p99_ms: percentile(latencies, 99),
      direct_requests: directLatencies.length,
      direct_p50_ms: percentile(directLatencies, 50),
      direct_p99_ms: percentile(directLatencies, 99),
      // What a client waits for beyond the search service's own answer, at the median.
      gateway_added_p50_ms: compareDirect
        ? percentile(latencies, 50) - percentile(directLatencies, 50)
        : null,
      // The gateway's time around its call to the search service, from its Server-Timing.
      gateway_own_p50_ms: percentile(gatewayOwnMs, 50),
      embed_share: embedMs / requestMs,
      milvus_share: milvusMs / requestMs,
      rerank_ms_mean: rerankMs / Math.max(latencies.length, 1),
      overhead: (requestMs - embedMs - milvusMs) / requestMs,
    };
    results.push(result);
    log(
      `${name}: ${result.requests} requests, ${result.qps.toFixed(1)} QPS, p50 ${result.p50_ms.toFixed(1)} ms, p95 ${result.p95_ms.toFixed(1)} ms, p99 ${result.p99_ms.toFixed(1)} ms, overhead ${(result.overhead * 100).toFixed(1)}% (embedding ${(result.embed_share * 100).toFixed(1)}%, Milvus ${(result.milvus_share * 100).toFixed(1)}%)`,
    );
    if (compareDirect) {
      log(
        `${name}: direct to the search service ${result.direct_requests} requests, p50 ${result.direct_p50_ms.toFixed(1)} ms; the gateway adds ${result.gateway_added_p50_ms.toFixed(2)} ms at p50 (its own time around the call ${result.gateway_own_p50_ms.toFixed(2)} ms)`,
      );
    }
  }
  await store.close();
  const pct = (share) => `${(share * 100).toFixed(1)}%`;
  console.log(
    [
      `model ${model.name}, mode ${args.mode}, rerank ${args.rerank}, ${concurrency} clients, ${seconds} s per corpus`,
      '',
      '| chunks | requests | QPS | p50 ms | p95 ms | p99 ms | embedding | Milvus | overhead | direct p50 ms | gateway adds p50 ms | gateway own p50 ms | errors |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...results.map(
        (r) =>
          `| ${r.chunks} | ${r.requests} | ${r.qps.toFixed(1)} | ${r.p50_ms.toFixed(1)} | ${r.p95_ms.toFixed(1)} | ` +
          `${r.p99_ms.toFixed(1)} | ${pct(r.embed_share)} | ${pct(r.milvus_share)} | ${pct(r.overhead)} | ` +
          `${r.direct_requests ? r.direct_p50_ms.toFixed(1) : '-'} | ${r.gateway_added_p50_ms?.toFixed(2) ?? '-'} | ` +
          `${r.gateway_own_p50_ms.toFixed(2)} | ${r.errors} |`,
      ),
      '',
    ].join('\n'),
  );
  const largest = results.at(-1);
  summary = [
    `model=${model.name}`,
    `mode=${args.mode}`,
    `rerank=${args.rerank}`,
    ...results.flatMap((r) => [
      `qps_${r.chunks}=${r.qps.toFixed(1)}`,
      `p99_ms_${r.chunks}=${r.p99_ms.toFixed(1)}`,
    ]),
    `overhead=${Math.max(...results.map((r) => r.overhead)).toFixed(3)}`,
    ...(args.compare === 'direct'
      ? [`gateway_added_p50_ms=${Math.max(...results.map((r) => r.gateway_added_p50_ms)).toFixed(2)}`]
      : []),
    `gateway_own_p50_ms=${Math.max(...results.map((r) => r.gateway_own_p50_ms)).toFixed(2)}`,
    `p50_ms=${largest.p50_ms.toFixed(1)}`,
    `p95_ms=${largest.p95_ms.toFixed(1)}`,
    `p99_ms=${largest.p99_ms.toFixed(1)}`,
    `qps=${largest.qps.toFixed(1)}`,
    `errors=${results.reduce((sum, r) => sum + r.errors, 0)}`,
  ].join(' ');
} finally {
  await stopAll();
}
console.log(summary);
