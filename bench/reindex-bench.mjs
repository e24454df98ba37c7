// `pnpm bench:reindex`: what moving a collection to another embedding model costs, against ingesting the same
// documents again on that model (what changing models meant before reindexing existed).
//
// Starts a private stack on the generated tiny model (the default model) and a second embedding service with
// the target model: TARGET_MODEL_DIR (and TARGET_MODEL_MANIFEST), else ../shared/models/multilingual-e5-small-q4
// when it exists, else a generated tiny model of 48 dimensions. Ingests --documents documents into a collection
// on the default model, then:
//   reindex   POST /v1/collections/moving/reindex {"model": target} until the switch, with --searchers clients
//             searching the collection meanwhile (every search must answer 200);
//   re-ingest the same documents into a new collection created on the target model, through the public API.
// Prints a table and, last, key=value pairs with the documents per second of each and their ratio.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startPrivateStack } from './private-stack.mjs';

const { values: args } = parseArgs({
  options: {
    documents: { type: 'string', default: '300' },
    searchers: { type: 'string', default: '4' },
  },
});
const documentCount = Number(args.documents);
const searcherCount = Number(args.searchers);
if (
  !(Number.isInteger(documentCount) && documentCount > 0) ||
  !(Number.isInteger(searcherCount) && searcherCount >= 0)
) {
  console.error('--documents takes a positive whole number, --searchers a whole number');
  process.exit(2);
}
const repoRoot = resolve(import.meta.dirname, '..');
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const seconds = (since) => (performance.now() - since) / 1000;

// Distinct text of about 120 words per document, from a small vocabulary and a seeded generator.
const vocabulary = (
  'wing flow pressure boundary layer shock heat transfer velocity turbulent laminar surface model test ' +
  'numerical solution equation temperature supersonic nozzle plate cylinder drag lift mach number body ' +
  'budget travel policy office security invoice contract vendor network backup release audit storage'
).split(' ');
function documentText(seed) {
  let state = seed * 2654435761 + 1;
  const parts = [];
  for (let i = 0; i < 120; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    parts.push(vocabulary[state % vocabulary.length]);
    if (i % 15 === 14) parts.push('.');
  }
  return parts.join(' ');
}

const { startService } = await import('../packages/testing/dist/service-process.js');
const { freePort } = await import('../packages/testing/dist/free-port.js');
const cleanups = [];
const sharedTarget = resolve(repoRoot, '..', 'shared', 'models', 'multilingual-e5-small-q4');
let targetDir = process.env.TARGET_MODEL_DIR && resolve(process.env.TARGET_MODEL_DIR);
let targetManifest = process.env.TARGET_MODEL_MANIFEST && resolve(process.env.TARGET_MODEL_MANIFEST);
if (!targetDir && existsSync(join(sharedTarget, 'model.onnx'))) {
  targetDir = sharedTarget;
  targetManifest = join(repoRoot, 'packages', 'models', 'manifests', 'multilingual-e5-small.json');
}
if (!targetDir) {
  const { writeTinyModel } = await import('../packages/models/dist/tiny-model.js');
  targetDir = await mkdtemp(join(tmpdir(), 'bench-tiny-d48-'));
  cleanups.push(() => rm(targetDir, { recursive: true, force: true }));
  await writeTinyModel(targetDir, { dim: 48, seed: 7 });
  log('no target model: using a generated tiny model of 48 dimensions');
}

const targetPort = await freePort();
const stack = await startPrivateStack({
  namePrefix: 'reindexbench',
  log,
  env: { EMBEDDING_SERVICE_URLS: `http://127.0.0.1:${targetPort}` },
  workerEnv: { REINDEX_KEEP_OLD_SECONDS: '5' },
  gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '1000000', RATE_LIMIT_PER_CREDENTIAL: '1000000' },
});
let target;
let summary;
try {
  target = await startService({
    app: 'embedding-service',
    repoRoot,
    port: targetPort,
    readyTimeoutMs: 300_000,
    env: {
      SERVICE_TOKEN: stack.serviceToken,
      MODEL_DIR: targetDir,
      ...(targetManifest ? { MODEL_MANIFEST: targetManifest } : {}),
      LOG_LEVEL: 'warn',
    },
  });
  const api = async (method, path, body) => {
    const response = await fetch(`${stack.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  };
  const modelOf = async (url) =>
    (await fetch(`${url}/v1/model`, { headers: { 'x-service-token': stack.serviceToken } })).json();
  const source = await modelOf(stack.embeddingUrl);
  const goal = await modelOf(target.url);
  log(
    `from ${source.name} (dim ${source.dim}) to ${goal.name} (dim ${goal.dim}), ${documentCount} documents`,
  );

  const documents = Array.from({ length: documentCount }, (_, i) => ({
    external_id: `doc-${i}`,
    text: documentText(i),
  }));
  /** Ingests every document into a collection; answers the seconds until all are ready. */
  async function ingest(collection) {
    const started = performance.now();
    for (let i = 0; i < documents.length; i += 100) {
      const answer = await api('POST', `/v1/collections/${collection}/documents/batch`, {
        documents: documents.slice(i, i + 100),
      });
      if (answer.status !== 200)
        throw new Error(`batch at ${i}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
    for (;;) {
      const { body } = await api('GET', `/v1/collections/${collection}`);
      if (body.documents.failed > 0) throw new Error(`${body.documents.failed} documents failed`);
      if (body.documents.ready === documents.length)
        return { seconds: seconds(started), chunks: body.chunks };
      await sleep(100);
    }
  }

  if ((await api('POST', '/v1/collections', { name: 'moving' })).status !== 201)
    throw new Error('create moving');
  const initial = await ingest('moving');
  log(`ingested on ${source.name}: ${initial.chunks} chunks in ${initial.seconds.toFixed(1)} s`);

  // --- reindex, with searchers running until the switch ---
  let switched = false;
  let searches = 0;
  let failedSearches = 0;
  const searcher = async (offset) => {
    for (let i = offset; !switched; i++) {
      const answer = await api('POST', '/v1/search', {
        collection: 'moving',
        query: `${vocabulary[i % vocabulary.length]} ${vocabulary[(i * 7) % vocabulary.length]}`,
      });
      searches++;
      if (answer.status !== 200) failedSearches++;
    }
  };
  const started = performance.now();
  const start = await api('POST', '/v1/collections/moving/reindex', { model: goal.name });
  if (start.status !== 202) throw new Error(`reindex: ${start.status} ${JSON.stringify(start.body)}`);
  let status;
  const watcher = async () => {
    for (;;) {
      status = (await api('GET', '/v1/collections/moving/reindex')).body;
      if (status.state !== 'running') break;
      await sleep(100);
    }
    switched = true;
  };
  await Promise.all([watcher(), ...Array.from({ length: searcherCount }, (_, i) => searcher(i))]);
  const reindexSeconds = seconds(started);
  if (status.state !== 'switched') throw new Error(`reindex ended ${status.state}: ${status.error}`);
  log(
    `reindexed in ${reindexSeconds.toFixed(1)} s; ${searches} searches meanwhile, ${failedSearches} failed`,
  );

  // --- the same documents ingested again on the target model ---
  if ((await api('POST', '/v1/collections', { name: 'fresh', model: goal.name })).status !== 201)
    throw new Error('create fresh');
  const again = await ingest('fresh');
  log(`re-ingested on ${goal.name}: ${again.chunks} chunks in ${again.seconds.toFixed(1)} s`);

  const reindexRate = documentCount / reindexSeconds;
  const reingestRate = documentCount / again.seconds;
  console.log('| step | documents | chunks | seconds | documents/s |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(
    `| reindex ${source.name} → ${goal.name} (${searcherCount} clients searching) | ${documentCount} | ${again.chunks} | ${reindexSeconds.toFixed(1)} | ${reindexRate.toFixed(1)} |`,
  );
  console.log(
    `| ingest again on ${goal.name} | ${documentCount} | ${again.chunks} | ${again.seconds.toFixed(1)} | ${reingestRate.toFixed(1)} |`,
  );
  summary = [
    `target=${goal.name}`,
    `documents=${documentCount}`,
    `searches=${searches}`,
    `failed_searches=${failedSearches}`,
    `reindex_documents_per_s=${reindexRate.toFixed(1)}`,
    `reingest_documents_per_s=${reingestRate.toFixed(1)}`,
    `reindex_vs_reingest=${(reindexRate / reingestRate).toFixed(3)}`,
  ].join(' ');
} finally {
  await target?.stop().catch(() => {});
  await stack.stop();
  for (const cleanup of cleanups) await cleanup();
}
console.log(summary);
