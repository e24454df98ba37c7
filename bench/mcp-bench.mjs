// `pnpm bench:mcp`: the same kind of search through REST (POST /v1/search) and through the MCP `search` tool
// at /mcp, side by side in one run, from outside, so what MCP adds is visible.
//
// Starts a private stack from the builds (the generated tiny model unless MODEL_DIR is set), ingests
// --documents short documents through the API, then sends --queries searches one at a time, alternating
// REST and MCP. Every query is a distinct random word sequence, so no cache helps either side. Latency is
// measured at the client: for MCP, one tools/call on an initialised session (a stateless server: each call is
// one HTTP request). The last line is key=value pairs: mcp_overhead_p50_ms and mcp_overhead_p99_ms are the
// differences of the percentiles.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startPrivateStack } from './private-stack.mjs';

const { values: args } = parseArgs({
  options: {
    documents: { type: 'string', default: '200' },
    queries: { type: 'string', default: '300' },
  },
});
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');

const words = (
  'policy travel budget office holiday printer security laptop parking meeting invoice contract salary ' +
  'training expense vendor network backup password server release customer support warranty shipping ' +
  'refund inventory audit compliance onboarding benefits pension insurance vacation schedule kitchen'
).split(' ');
let seed = 7;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const phrase = (n) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

// The limits per address and per credential would otherwise stop a run of a few hundred searches a minute.
const stack = await startPrivateStack({
  namePrefix: 'benchmcp',
  gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '10000000', RATE_LIMIT_PER_CREDENTIAL: '10000000' },
  log,
});
try {
  const api = async (method, path, body) => {
    const response = await fetch(`${stack.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };
  await api('POST', '/v1/collections', { name: 'bench' });
  const count = Number(args.documents);
  log(`ingesting ${count} documents`);
  const ids = [];
  for (let start = 0; start < count; start += 100) {
    const documents = Array.from({ length: Math.min(100, count - start) }, (_, i) => ({
      external_id: `doc-${start + i}`,
      text: `${phrase(40)}. ${phrase(40)}.`,
    }));
    const answer = await api('POST', '/v1/collections/bench/documents/batch', { documents });
    if (answer.status !== 200) throw new Error(`batch: ${JSON.stringify(answer.body)}`);
    ids.push(...answer.body.results.map((result) => result.id));
  }
  for (const id of ids) {
    for (;;) {
      const { body } = await api('GET', `/v1/documents/${id}`);
      if (body.status === 'ready') break;
      if (body.status === 'failed') throw new Error(`document ${id} failed: ${body.error}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${stack.gatewayUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${stack.adminKey}` } },
    }),
  );
  const timings = { rest: [], mcp: [] };
  const queries = Number(args.queries);
  log(`${queries} queries each way`);
  for (let i = 0; i < queries + 10; i++) {
    const warm = i < 10;
    let started = performance.now();
    const rest = await api('POST', '/v1/search', { collection: 'bench', query: phrase(4), top_k: 10 });
    if (rest.status !== 200) throw new Error(`REST search: ${JSON.stringify(rest.body)}`);
    if (!warm) timings.rest.push(performance.now() - started);
    started = performance.now();
    const mcp = await client.callTool({
      name: 'search',
      arguments: { collection: 'bench', query: phrase(4), top_k: 10 },
    });
    if (mcp.isError) throw new Error(`MCP search: ${JSON.stringify(mcp.content)}`);
    if (!warm) timings.mcp.push(performance.now() - started);
  }
  await client.close();

  const row = (name, values) =>
    `| ${name} | ${values.length} | ${percentile(values, 50).toFixed(1)} | ${percentile(values, 95).toFixed(1)} | ${percentile(values, 99).toFixed(1)} |`;
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  console.log('| path | queries | p50 ms | p95 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(row('REST POST /v1/search', timings.rest));
  console.log(row('MCP tools/call search', timings.mcp));
  const overhead = (p) => (percentile(timings.mcp, p) - percentile(timings.rest, p)).toFixed(2);
  console.log(`mcp_overhead_p50_ms=${overhead(50)} mcp_overhead_p99_ms=${overhead(99)}`);
} finally {
  await stack.stop();
}
