import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { testPostgresUrl, uniqueTestPrefix } from '@rag/testing/test-database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Fluent Bit configuration (infra/logging/fluent-bit/fluent-bit.conf) over real log lines: the built
 * gateway runs at LOG_LEVEL=debug (as in dev, where probe lines are logged), answers probes, a scrape and
 * API requests with a request id and a W3C trace context; its output, written as the container runtime
 * writes it (CRI lines, one of them split into partial lines), goes through infra/checks/log-pipeline.py,
 * which applies the configuration's filters. Fluent Bit itself cannot be installed here.
 */

const repoRoot = findRepoRoot();
const traceId = '0af7651916cd43dd8448eb211c80319c';
const probePaths = new Set(['/health', '/health/ready', '/metrics']);
let scratch: string;
let schema: string;
let redisPrefix: string;
let raw: Array<Record<string, unknown>>;
let shipped: Array<Record<string, unknown>>;

type LogRecord = Record<string, unknown>;
const isProbeLine = (r: LogRecord) => r.msg === 'request' && probePaths.has(String(r.path));

async function runGateway(): Promise<string[]> {
  const [port, managementPort, closedPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', '@rag/telemetry/register', 'dist/main.js'],
    {
      cwd: join(repoRoot, 'apps', 'gateway'),
      env: {
        PATH: process.env.PATH ?? '',
        RAG_BASE_DIR: repoRoot,
        OTEL_SERVICE_NAME: 'gateway',
        LOG_LEVEL: 'debug',
        PORT: String(port),
        MANAGEMENT_PORT: String(managementPort),
        DATABASE_URL: testPostgresUrl,
        DATABASE_SCHEMA: schema,
        REDIS_KEY_PREFIX: redisPrefix,
        ADMIN_API_KEY: 'log-shipping-admin-key-0123456789abcdef',
        SERVICE_TOKEN: 'log-shipping-service-token-0123456789abcdef',
        // Nothing listens there: readiness answers 503, which is still a probe line to drop.
        SEARCH_SERVICE_URL: `http://127.0.0.1:${closedPort}`,
        STORAGE_ROOT: join(scratch, 'storage'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = once(child, 'exit');
  const base = `http://127.0.0.1:${port}`;
  const management = `http://127.0.0.1:${managementPort}`;
  try {
    for (let attempt = 0; ; attempt++) {
      const live = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (live) break;
      if (child.exitCode !== null || attempt > 300) throw new Error(`gateway did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await fetch(`${management}/health/ready`);
    await fetch(`${management}/metrics`);
    await fetch(`${base}/v1/collections`, {
      headers: { 'x-request-id': 'log-shipping-1', traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    await fetch(`${base}/v1/collections`, {
      headers: { 'x-request-id': 'log-shipping-2', authorization: 'Bearer not-a-key' },
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return output.split('\n').filter(Boolean);
}

/** The container runtime's file format; the longest line is split into partial (P) lines, as runtimes do past 16 KiB. */
function criLines(lines: string[]): string {
  const longest = lines.reduce((a, b) => (b.length > a.length ? b : a));
  const time = '2026-01-01T00:00:00.000000000Z';
  return lines
    .flatMap((line) => {
      if (line !== longest) return [`${time} stdout F ${line}`];
      const third = Math.ceil(line.length / 3);
      return [
        `${time} stdout P ${line.slice(0, third)}`,
        `${time} stdout P ${line.slice(third, 2 * third)}`,
        `${time} stdout F ${line.slice(2 * third)}`,
      ];
    })
    .join('\n');
}

function pipeline(file: string, config?: string): string {
  const args = [
    join(repoRoot, 'infra/checks/log-pipeline.py'),
    ...(config ? ['--config', config] : []),
    file,
  ];
  return execFileSync('python3', args, { encoding: 'utf8' });
}

describe('log shipping (Fluent Bit configuration over the gateway log)', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rag-log-shipping-'));
    schema = `logs_${uniqueTestPrefix('e2e')}`.replace(/[^a-z0-9_]/gi, '_');
    redisPrefix = uniqueTestPrefix('logs');
    const lines = await runGateway();
    raw = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return [];
      }
    });
    const file = join(scratch, 'gateway.log');
    await writeFile(file, criLines(lines));
    shipped = pipeline(file)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogRecord);
  });

  afterAll(async () => {
    const db = new pg.Client({ connectionString: testPostgresUrl });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
    await rm(scratch, { recursive: true, force: true });
  });

  it('the gateway logged probe and scrape lines (the noise the filter exists for)', () => {
    const paths = new Set(raw.filter(isProbeLine).map((r) => r.path));
    expect(paths).toEqual(probePaths);
  });

  it('drops every probe and scrape line and keeps every other line', () => {
    expect(shipped.filter(isProbeLine)).toEqual([]);
    expect(shipped).toHaveLength(raw.filter((r) => !isProbeLine(r)).length);
    expect(shipped.map((r) => r.msg)).toEqual(raw.filter((r) => !isProbeLine(r)).map((r) => r.msg));
  });

  it('turns each JSON line into fields: request id, trace and span ids, service, level', () => {
    const traced = shipped.find((r) => r.request_id === 'log-shipping-1' && r.msg === 'request');
    expect(traced).toMatchObject({
      service: 'gateway',
      level: 'info',
      path: '/v1/collections',
      trace_id: traceId,
      stream: 'stdout',
    });
    expect(traced?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(shipped.find((r) => r.request_id === 'log-shipping-2')).toMatchObject({
      msg: 'request',
      status: 401,
    });
    for (const record of shipped) {
      // Merged, not kept twice; the runtime's partial-line tag removed.
      expect(record).not.toHaveProperty('log');
      expect(record).not.toHaveProperty('logtag');
    }
  });

  it('refuses a configuration option it cannot emulate instead of skipping it', async () => {
    const config = join(scratch, 'unknown-option.conf');
    const original = await readFile(join(repoRoot, 'infra/logging/fluent-bit/fluent-bit.conf'), 'utf8');
    await writeFile(config, original.replace('    Logical_Op ', '    Invert_Match on\n    Logical_Op '));
    expect(() => pipeline(join(scratch, 'gateway.log'), config)).toThrow(/option invert_match not emulated/);
  });
});
