// What bench:search reads beside the latencies of a cell, so a gap between the product and its floor can be
// told apart from the machine's load: CPU seconds per process of the private stack (from /proc) and of the
// bench itself, the event loop's delay in the search service (its Prometheus metrics, which prom-client resets
// on every read) and in the bench, and the stages of the product's slowest answers.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const ticksPerSecond = 100;

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

async function eventLoopLag(managementUrl) {
  if (!managementUrl) return undefined;
  try {
    const text = await (await fetch(`${managementUrl}/metrics`)).text();
    const read = (name) => {
      // `name value` or `name{labels} value` (the registry may add default labels).
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000 : undefined;
    };
    return {
      mean: read('nodejs_eventloop_lag_mean_seconds'),
      p99: read('nodejs_eventloop_lag_p99_seconds'),
      max: read('nodejs_eventloop_lag_max_seconds'),
    };
  } catch {
    return undefined;
  }
}

/** Starts a cell's probes; `finish(requests)` returns what they saw over the cell. */
export async function startCellProbes(stack) {
  const searchMetrics = stack.managementUrls?.['search-service'];
  await eventLoopLag(searchMetrics); // resets the service's histogram
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const pids = stack.pids ?? {};
  const before = Object.fromEntries(Object.entries(pids).map(([part, pid]) => [part, cpuSeconds(pid)]));
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  return {
    async finish() {
      const wall = (performance.now() - started) / 1000;
      loop.disable();
      const cores = {};
      for (const [part, pid] of Object.entries(pids)) {
        const now = cpuSeconds(pid);
        if (now !== undefined && before[part] !== undefined) cores[part] = (now - before[part]) / wall;
      }
      const bench = process.cpuUsage(benchBefore);
      cores.bench = (bench.user + bench.system) / 1e6 / wall;
      return {
        cores,
        searchLoop: await eventLoopLag(searchMetrics),
        benchLoop: { mean: loop.mean / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      };
    },
  };
}

const f = (n) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));

/** One line on what the probes saw: cores per part, and each event loop's delay (mean / p99 / max ms). */
export function describeProbes(probes) {
  const cores = Object.entries(probes.cores)
    .map(([part, used]) => `${part} ${used.toFixed(2)}`)
    .join(', ');
  const loop = (lag) => (lag ? `${f(lag.mean)}/${f(lag.p99)}/${f(lag.max)}` : '-');
  return `cores: ${cores}; event loop delay mean/p99/max ms: search service ${loop(probes.searchLoop)}, bench ${loop(probes.benchLoop)}`;
}

/**
 * The product's slowest answers (those at or above the 99th percentile) against the median ones: each stage's
 * mean, so a tail shows which stage made it.
 */
export function describeTail(product, p99, p50) {
  const stagesOf = (answers) => {
    const keys = ['embed', 'milvus', 'db', 'search', 'gateway'];
    const n = Math.max(answers.length, 1);
    return keys
      .map((key) => `${key} ${f(answers.reduce((sum, a) => sum + (a.timing[key] ?? 0), 0) / n)}`)
      .concat(`total ${f(answers.reduce((sum, a) => sum + a.total, 0) / n)}`)
      .join(', ');
  };
  const slow = product.filter((a) => a.total >= p99);
  const median = product.filter((a) => Math.abs(a.total - p50) <= p50 * 0.1);
  return `slowest ${slow.length}: ${stagesOf(slow)} | median ${median.length}: ${stagesOf(median)}`;
}

/**
 * Waits until a process has been quiet (under `quietCores` of CPU over each of `quietSeconds`) and returns the
 * seconds it took. Milvus Lite compacts and builds indexes in the background after a bulk write and flush, and
 * searches meanwhile take two to four times as long (10k chunks: ~9 s of it): a cell measured then says more
 * about the write just before it than about searching.
 */
export async function waitUntilQuiet(pid, { quietCores = 0.1, quietSeconds = 2, timeoutSeconds = 900 } = {}) {
  const started = performance.now();
  let quiet = 0;
  let last = cpuSeconds(pid);
  while (last !== undefined && (performance.now() - started) / 1000 < timeoutSeconds) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = cpuSeconds(pid);
    if (now === undefined) break;
    quiet = now - last < quietCores ? quiet + 1 : 0;
    last = now;
    if (quiet >= quietSeconds) break;
  }
  return (performance.now() - started) / 1000;
}
