// `pnpm faults`: the fault matrix. Starts a private stack (Redis, a PostgreSQL cluster from initdb, Milvus
// Lite, the four services from their builds, the generated tiny model), then for each fault runs the
// workload (writers ingesting documents, searchers searching), injects the fault, ends it, measures the
// recovery, waits for the work to settle, and checks the end state (see end-state.mjs) and `pnpm doctor`.
// One table row per fault; the last line is `faults=N lost=N duplicated=N stuck=N doctor_clean=N/N`, and the
// exit code is 1 when anything was lost, duplicated or stuck, or the doctor found problems.
//
// Options: --only worker-kill,redis-hang  --smoke (two quick faults, few documents)  --documents 40
// --writers 2  --searchers 2  --down-seconds 15  --hang-seconds 35  --readonly-seconds 20
// --warmup-seconds 4  --after-seconds 8  --stuck-seconds 60  --list
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { createApiClient, retryable } from './api-client.mjs';
import { checkEndState, pendingWork } from './end-state.mjs';
import { faultCatalogue } from './fault-catalogue.mjs';
import { startFaultStack } from './fault-stack.mjs';
import { startWorkload } from './workload.mjs';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const usage =
  'usage: pnpm faults [--only FAULT,...] [--smoke] [--list] [--documents N] [--writers N] [--searchers N]\n' +
  '  [--down-seconds S] [--hang-seconds S] [--readonly-seconds S] [--warmup-seconds S] [--after-seconds S]\n' +
  '  [--stuck-seconds S]';
const numberOptions = {
  documents: 40,
  writers: 2,
  searchers: 2,
  'down-seconds': 15,
  'hang-seconds': 35,
  'readonly-seconds': 20,
  'warmup-seconds': 4,
  'after-seconds': 8,
  'stuck-seconds': 60,
};
const smokeFaults = ['worker-kill', 'redis-kill'];
const smokeSizes = { documents: 12, 'down-seconds': 10, 'warmup-seconds': 3, 'after-seconds': 4 };

let parsed;
try {
  parsed = parseArgs({
    options: {
      only: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(numberOptions).map((name) => [name, { type: 'string' }])),
    },
  }).values;
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
const settings = {};
for (const [name, fallback] of Object.entries(numberOptions)) {
  const given = parsed[name] ?? (parsed.smoke ? smokeSizes[name] : undefined);
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} must be a number ≥ 0, got "${given}"\n${usage}`);
    process.exit(2);
  }
  settings[name] = value;
}
if (settings.documents < 1 || settings.writers < 1) {
  console.error(`--documents and --writers must be at least 1\n${usage}`);
  process.exit(2);
}

const startedAt = Date.now();
function log(message) {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}

// The lock periods are shorter than the defaults so a killed worker's job and lock come back within
// seconds and the matrix fits in its time; everything else runs with the services' defaults.
const workerEnv = {
  WORKER_LOCK_DURATION_MS: '10000',
  WORKER_STALLED_INTERVAL_MS: '5000',
  COLLECTION_LOCK_TTL_MS: '10000',
};

// The catalogue's names are known before the stack starts, so a typo fails at once.
const catalogueNames = faultCatalogue(
  { dependencies: { redis: {}, postgres: {}, milvus: {} } },
  { downMs: 0, hangMs: 0, readOnlyMs: 0 },
).map((f) => f.name);
if (parsed.list) {
  console.log(catalogueNames.join('\n'));
  process.exit(0);
}
const wanted = parsed.only
  ? parsed.only.split(',').map((s) => s.trim())
  : parsed.smoke
    ? smokeFaults
    : catalogueNames;
const unknown = wanted.filter((name) => !catalogueNames.includes(name));
if (unknown.length > 0) {
  console.error(`unknown fault ${unknown.join(', ')}; the faults are: ${catalogueNames.join(', ')}`);
  process.exit(2);
}

const stack = await startFaultStack({ workerEnv, log });
let stopping = false;
let faults = [];
const shutdown = async (code) => {
  if (stopping) return;
  stopping = true;
  for (const fault of faults) fault.cleanup?.();
  await stack.stop();
  process.exit(code);
};
process.on('SIGINT', () => shutdown(130));
process.on('SIGTERM', () => shutdown(130));

// Anything that fails before the matrix's own try/finally must still stop the stack.
process.on('uncaughtException', async (error) => {
  console.error(error);
  await shutdown(1);
});
const api = createApiClient(stack.gatewayUrl, stack.adminKey);
const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
pool.on('error', () => {}); // the pool's idle connections die with PostgreSQL; queries reconnect
const model = await (
  await fetch(`${stack.embeddingUrl}/v1/model`, { headers: { 'x-service-token': stack.serviceToken } })
).json();
const { createMilvusStore } = await import(`${repoRoot}/packages/vector-store/dist/milvus-store.js`);
const openStore = () =>
  createMilvusStore({
    address: stack.milvusAddress,
    collectionPrefix: 'rag_',
    space: { model: model.name, dim: model.dim, hasSparse: model.outputs.sparse },
  });

faults = faultCatalogue(stack, {
  downMs: settings['down-seconds'] * 1000,
  hangMs: settings['hang-seconds'] * 1000,
  readOnlyMs: settings['readonly-seconds'] * 1000,
}).filter((f) => wanted.includes(f.name));

/** Retries a request while it fails the way a client should retry, up to the deadline. */
async function persist(send, deadline) {
  for (;;) {
    const answer = await send();
    if (!retryable(answer) || Date.now() > deadline) return answer;
    await delay(1000);
  }
}

async function collectionId(name) {
  const { rows } = await pool.query("SELECT id FROM collections WHERE tenant_id = 'default' AND name = $1", [
    name,
  ]);
  return rows[0]?.id ?? null;
}

/**
 * Time from the end of the fault until a search is answered and a document sent after it is ready, polled
 * twice a second; null when that does not happen within the limit.
 */
async function measureRecovery(collection, since, limitMs, tag) {
  let searchOk = null;
  let ingestOk = null;
  let probeId = null;
  let probes = 0;
  while (Date.now() < since + limitMs) {
    if (searchOk === null) {
      const answer = await api.request('POST', '/v1/search', {
        json: { collection, query: 'policy travel', top_k: 3 },
      });
      if (answer.status === 200) searchOk = Date.now();
    }
    if (ingestOk === null) {
      if (probeId === null) {
        probes += 1;
        const answer = await api.request('POST', `/v1/collections/${collection}/documents`, {
          json: {
            external_id: `probe-${tag}-${probes}`,
            text: `recovery probe ${tag} ${probes} budget office`,
          },
        });
        if (answer.status === 202 || answer.status === 200) probeId = answer.body.id;
      } else {
        const answer = await api.request('GET', `/v1/documents/${probeId}`);
        if (answer.status === 200 && answer.body.status === 'ready') ingestOk = Date.now();
        // A probe that failed (its retries ran out during the outage) is replaced by a new one.
        if (answer.status === 404 || answer.body.status === 'failed') probeId = null;
      }
    }
    if (searchOk !== null && ingestOk !== null) break;
    await delay(500);
  }
  const part = (at) => (at === null ? null : at - since);
  const ms = searchOk !== null && ingestOk !== null ? Math.max(searchOk, ingestOk) - since : null;
  return { ms, searchMs: part(searchOk), ingestMs: part(ingestOk), searchOk, ingestOk };
}

async function runDoctor(...extra) {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`${repoRoot}/apps/ingest-worker/dist/doctor-cli.js`, '--env-from', stack.envFile, ...extra],
      // Only PATH: the doctor must take every setting from the file, never the shared servers' defaults.
      { env: { PATH: process.env.PATH ?? '' }, timeout: 120_000 },
    );
    return { clean: true, summary: stdout.trim().split('\n').at(-1) };
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    // The collections with problems and the totals (the doctor prints one tab-separated line per collection).
    const lines = output.split('\n');
    const problems = lines.filter(
      (l) => /\t\d+\t\d+\t\d+\t\d+\t\d+\t/.test(l) && !/\t0\t0\t0\t(true|false)$/.test(l),
    );
    return { clean: false, summary: [...problems, lines.at(-1)].join(' | ') || error.message };
  }
}

async function runFault(fault, index) {
  const tag = `f${String(index + 1).padStart(2, '0')}`;
  const collection = `${tag}-${fault.name}`;
  const scratch = { name: `${collection}-tmp`, id: null, recreated: null };
  const setupDeadline = Date.now() + 60_000;
  for (const name of [collection, scratch.name]) {
    const created = await persist(
      () => api.request('POST', '/v1/collections', { json: { name } }),
      setupDeadline,
    );
    if (created.status !== 201)
      throw new Error(`creating collection ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const id = await collectionId(collection);
  scratch.id = await collectionId(scratch.name);
  for (let i = 0; i < 2; i++) {
    await persist(
      () =>
        api.request('POST', `/v1/collections/${scratch.name}/documents`, {
          json: {
            external_id: `scratch-${i}`,
            text: `scratch document ${i} of ${collection} holiday printer`,
          },
        }),
      setupDeadline,
    );
  }
  api.reset();
  stack.gatewayRefused();
  const holdMs =
    fault.name.endsWith('-kill') && !fault.name.match(/^(worker|gateway|search|embedding)-/)
      ? settings['down-seconds'] * 1000
      : fault.name.endsWith('-hang')
        ? settings['hang-seconds'] * 1000
        : fault.name === 'storage-readonly'
          ? settings['readonly-seconds'] * 1000
          : 5000;
  const workload = startWorkload({
    api,
    collection,
    documents: settings.documents,
    writers: settings.writers,
    searchers: settings.searchers,
    spanMs: (settings['warmup-seconds'] + settings['after-seconds']) * 1000 + holdMs,
  });
  await delay(settings['warmup-seconds'] * 1000);
  log(`${collection}: ${fault.describe}`);
  await fault.inject();
  // The scratch collection is deleted during the fault (the client retries until it is answered).
  const stuckMs = settings['stuck-seconds'] * 1000;
  const deletion = delay(1000).then(() =>
    persist(() => api.request('DELETE', `/v1/collections/${scratch.name}`), Date.now() + 120_000),
  );
  await fault.hold();
  const endedAt = Date.now();
  // Probing starts with the end of the fault, not after the restart: what kept working (searches while the
  // worker restarts) shows a recovery of zero, and a restart's own time counts where it stops something.
  const recovering = measureRecovery(collection, endedAt, 120_000, tag);
  await fault.end();
  log(`${collection}: fault ended${fault.detail ? ` (${fault.detail()})` : ''}`);
  const recovery = await recovering;
  log(
    `${collection}: recovery ${recovery.ms === null ? 'not within 120 s' : `${(recovery.ms / 1000).toFixed(1)} s`}`,
  );
  const settleFrom = recovery.ms === null ? Date.now() : endedAt + recovery.ms;
  workload.retryUntil(settleFrom + stuckMs);
  await workload.writing;
  await workload.stopSearching();
  const deleteAnswer = await deletion;
  // Work still in flight may finish within the stuck window after recovery; whatever is not final then is
  // stuck. Every service ready again belongs to settling: the worker, for one, is not ready while it rebuilds
  // vectors a restarted Milvus lost.
  const settled = async () =>
    (await pendingWork(pool, id, scratch.id).catch(() => 1)) === 0 && (await stack.notReady()).length === 0;
  while (Date.now() < settleFrom + stuckMs && !(await settled())) await delay(500);
  const recreated = await persist(
    () => api.request('POST', '/v1/collections', { json: { name: scratch.name } }),
    Date.now() + 30_000,
  );
  scratch.recreated = recreated.status;
  const counts = api.reset();
  const refusedByGateway = stack.gatewayRefused();

  const store = openStore();
  let state;
  try {
    await store.ensureReady();
    state = await checkEndState({
      pool,
      store,
      api,
      collection,
      collectionId: id,
      expected: workload.expected,
      scratch,
    });
  } finally {
    await store.close().catch(() => {});
  }
  if (recreated.status === 201) await api.request('DELETE', `/v1/collections/${scratch.name}`);
  const doctor = await runDoctor();
  // Repaired after it is recorded, so the next fault's doctor speaks of that fault only.
  if (!doctor.clean) doctor.repair = (await runDoctor('--repair')).summary;

  // Whatever did not come back by itself is restarted, so the next fault starts from a working stack.
  const healed = await stack.notReady();
  if (recovery.searchOk === null && !healed.includes('search-service')) healed.push('search-service');
  if (recovery.ingestOk === null && !healed.includes('ingest-worker')) healed.push('ingest-worker');
  for (const name of healed) await stack.replace(name);

  return {
    fault: fault.name,
    method: fault.detail?.(),
    ...state,
    counts,
    recovery,
    refusedByGateway,
    doctor,
    healed,
    scratchDelete: deleteAnswer.status || deleteAnswer.error,
  };
}

const header = [
  'fault',
  'docs',
  'lost',
  'dup',
  'stuck',
  'failed',
  'refused',
  'searches ok/sent',
  '5xx',
  'not problem',
  'no answer',
  'slowest s',
  'recovery s search/ingest',
  'doctor',
];
const widths = [18, 5, 5, 5, 6, 7, 8, 17, 5, 12, 10, 10, 25, 7];
const line = (cells) =>
  cells
    .map((c, i) => String(c).padEnd(widths[i]))
    .join(' ')
    .trimEnd();
function row(r) {
  if (r.error)
    return line([r.fault, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `harness error`]);
  return line([
    r.fault,
    r.documents,
    r.lost,
    r.duplicated,
    r.stuck,
    r.failed,
    r.refused,
    `${r.counts.searchesAnswered}/${r.counts.searches}`,
    r.counts.serverErrors,
    r.counts.notProblem,
    r.counts.noAnswer,
    (r.counts.slowestMs / 1000).toFixed(1),
    [r.recovery.searchMs, r.recovery.ingestMs]
      .map((ms) => (ms === null ? 'never' : (ms / 1000).toFixed(1)))
      .join('/'),
    r.doctor.clean ? 'clean' : 'NOT',
  ]);
}

const results = [];
try {
  log(`faults: ${faults.map((f) => f.name).join(', ')}`);
  console.log(line(header));
  for (const [index, fault] of faults.entries()) {
    let result;
    try {
      result = await runFault(fault, index);
    } catch (error) {
      log(`${fault.name}: harness error: ${error.stack ?? error}`);
      result = { fault: fault.name, error: String(error.message ?? error) };
    }
    results.push(result);
    console.log(row(result));
    if (!result.error) {
      const notes = [
        ...result.problems,
        ...(result.counts.serverErrors > 0
          ? [
              `5xx by status: ${Object.entries(result.counts.byStatus)
                .map(([status, n]) => `${status}×${n}`)
                .join(', ')}`,
            ]
          : []),
        ...result.counts.examples.map((e) => `answer: ${e}`),
        `scratch collection delete answered ${result.scratchDelete}, name re-created: ${result.problems.some((p) => p.includes('not free')) ? 'no' : 'yes'}`,
        ...(result.counts.noAnswer > 0
          ? [
              `no answer: ${result.refusedByGateway} connections found no gateway process, ` +
                `${Math.max(0, result.counts.noAnswer - result.refusedByGateway)} requests cut or timed out`,
            ]
          : []),
        `doctor: ${result.doctor.summary}`,
        ...(result.doctor.repair ? [`doctor --repair afterwards: ${result.doctor.repair}`] : []),
        ...(result.method ? [`read-only by: ${result.method}`] : []),
        ...(result.healed.length > 0
          ? [`restarted by the harness afterwards (not back by itself): ${result.healed.join(', ')}`]
          : []),
      ];
      for (const note of notes) console.log(`    ${note}`);
    }
  }
} finally {
  for (const fault of faults) fault.cleanup?.();
  await pool.end().catch(() => {});
  stopping = true;
  await stack.stop();
}

console.log('');
console.log(line(header));
for (const result of results) console.log(row(result));
const ok = results.filter((r) => !r.error);
const sum = (key) => ok.reduce((n, r) => n + r[key], 0);
const clean = ok.filter((r) => r.doctor.clean).length;
const lost = sum('lost');
const duplicated = sum('duplicated');
const stuck = sum('stuck');
console.log(`\nmatrix took ${((Date.now() - startedAt) / 60000).toFixed(1)} min`);
console.log(
  `faults=${results.length} lost=${lost} duplicated=${duplicated} stuck=${stuck} doctor_clean=${clean}/${results.length}`,
);
process.exitCode = lost + duplicated + stuck > 0 || clean < results.length ? 1 : 0;
