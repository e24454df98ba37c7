import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The deploy scripts (scripts/deploy) against the real system: the smoke test runs against a stack of the
 * four services, and the staging and blue-green production deploys run with the fake kubectl of
 * scripts/deploy/testing (no API server can run here), whose port-forwards reach that same stack. Both
 * colors' gateways are the one real gateway; what differs between the cases is what the cluster does
 * (a rollout that never finishes) and what the gate reaches (a port where nothing answers).
 */

const run = promisify(execFile);
const repoRoot = findRepoRoot();
const fakeKubectlBin = join(repoRoot, 'scripts/deploy/testing/bin');
const digest = `sha256:${'ab'.repeat(32)}`;

let stack: Stack;
let modelDir: string;
let smokeKey: string;
let readerKey: string;
let gatewayAddress: string;
let deadAddress: string;
const clusters: string[] = [];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function runScript(file: string, args: string[], env: Record<string, string>): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file.endsWith('.mjs') ? 'node' : 'bash', [file, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      timeout: 100_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** A fresh fake cluster; its port-forwards to the given Services go to the given addresses. */
async function newCluster(endpoints: Record<string, string>, extra: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
  clusters.push(dir);
  const env = {
    PATH: `${fakeKubectlBin}:${process.env.PATH}`,
    FAKE_KUBE_DIR: dir,
    FAKE_KUBE_ENDPOINTS: JSON.stringify(endpoints),
    SMOKE_API_KEY: smokeKey,
    ...extra,
  };
  async function object(kind: string, name: string, namespace = 'rag-prod') {
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    return state.objects[`${kind}/${namespace}/${name}`];
  }
  async function calls(): Promise<string[][]> {
    const text = await readFile(join(dir, 'calls.jsonl'), 'utf8');
    return text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).args);
  }
  const liveColor = async () => (await object('Service', 'gateway')).spec.selector['app.kubernetes.io/color'];
  const replicas = async (name: string) => (await object('Deployment', name)).spec.replicas;
  const production = (args: string[], more: Record<string, string> = {}) =>
    runScript('scripts/deploy/production.sh', [...args, '--rollout-timeout', '5s'], { ...env, ...more });
  return { dir, env, object, calls, liveColor, replicas, production };
}

beforeAll(async () => {
  // The fake kubectl's Python (kubernetes-validate), the same venv the Kubernetes checks use.
  await run('bash', ['scripts/python-venv.sh', 'k8s-tools', 'kubernetes-validate==1.37.0'], {
    cwd: repoRoot,
  });
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir, gatewayEnv: { INGEST_BACKOFF_MS: '200' } });
  const { call } = stack;
  // What docs/runbook.md asks for once per environment: a smoke tenant, its collection, an editor key.
  expect((await call('POST', '/v1/tenants', { body: { id: 'smoke', name: 'Smoke tests' } })).status).toBe(
    201,
  );
  const admin = (await call('POST', '/v1/api-keys', { body: { tenant: 'smoke', role: 'admin' } })).body.key;
  expect((await call('POST', '/v1/collections', { key: admin, body: { name: 'smoke' } })).status).toBe(201);
  const editor = await call('POST', '/v1/api-keys', {
    key: admin,
    body: { tenant: 'smoke', role: 'editor', collections: ['smoke'] },
  });
  expect(editor.status).toBe(201);
  smokeKey = editor.body.key;
  readerKey = (await call('POST', '/v1/api-keys', { key: admin, body: { tenant: 'smoke', role: 'reader' } }))
    .body.key;
  gatewayAddress = new URL(stack.services.at(-1)!.url).host;
  // Nothing listens here: a color whose gateway never answers.
  deadAddress = `127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  for (const dir of clusters) await rm(dir, { recursive: true, force: true });
});

async function smokeDocuments(): Promise<number> {
  const { rows } = await stack.db.query(
    "SELECT count(*)::int AS n FROM documents WHERE external_id LIKE 'smoke-test/%'",
  );
  return rows[0].n;
}

describe('the smoke test', () => {
  it('passes against a running system and leaves no document behind', async () => {
    const result = await runScript('scripts/deploy/smoke.mjs', ['--base-url', stack.services.at(-1)!.url], {
      SMOKE_API_KEY: smokeKey,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^smoke [a-z -]+: ok$/gm)).toEqual([
      'smoke health: ok',
      'smoke probes private: ok',
      'smoke credential required: ok',
      'smoke search smoke: ok',
      'smoke ingest ready: ok',
      'smoke ingest found by search: ok',
      'smoke ingest deleted: ok',
    ]);
    expect(await smokeDocuments()).toBe(0);
  });

  it('fails with the reason when the key cannot write to the collection', async () => {
    const result = await runScript('scripts/deploy/smoke.mjs', ['--base-url', stack.services.at(-1)!.url], {
      SMOKE_API_KEY: readerKey,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/smoke: FAIL ingest into collection smoke: expected HTTP 202, got 403/);
  });

  it('fails on a collection that does not exist, a wrong key, a dead address and bad arguments', async () => {
    const base = stack.services.at(-1)!.url;
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        ['--base-url', base, '--collection', 'nope'],
        { SMOKE_API_KEY: smokeKey },
        /search in collection nope: .* 404/,
      ],
      [
        ['--base-url', base],
        { SMOKE_API_KEY: 'rag_wrongkey_0000000000000000' },
        /search in collection smoke: .* 401/,
      ],
      [['--base-url', `http://${deadAddress}`], { SMOKE_API_KEY: smokeKey }, /GET \/health: no answer/],
      [['--base-url', 'ftp://x'], { SMOKE_API_KEY: smokeKey }, /not http\(s\)/],
      [['--base-url', base], { SMOKE_API_KEY: '' }, /SMOKE_API_KEY is not set/],
      [['--base-url', base, '--timeout=0'], { SMOKE_API_KEY: smokeKey }, /--timeout must be a positive/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runScript('scripts/deploy/smoke.mjs', args, env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('the staging deploy', () => {
  it('applies the overlay with the pinned images, waits for the rollouts and smoke-tests', async () => {
    const cluster = await newCluster({ gateway: gatewayAddress });
    const result = await runScript(
      'scripts/deploy/staging.sh',
      [
        '--registry',
        'registry.example/rag',
        '--tag',
        '1.4.0',
        '--image',
        `gateway=registry.example/rag/gateway@${digest}`,
      ],
      cluster.env,
    );
    expect(result.stderr).toMatch(/smoke: all 7 checks passed/);
    expect(result.code).toBe(0);
    const gateway = await cluster.object('Deployment', 'gateway', 'rag-staging');
    expect(gateway.spec.template.spec.containers[0].image).toBe(`registry.example/rag/gateway@${digest}`);
    const worker = await cluster.object('Deployment', 'ingest-worker', 'rag-staging');
    expect(worker.spec.template.spec.containers[0].image).toBe('registry.example/rag/ingest-worker:1.4.0');
  });

  it('undoes the rollout and fails when a Deployment never becomes ready', async () => {
    const cluster = await newCluster({ gateway: gatewayAddress });
    const first = await runScript(
      'scripts/deploy/staging.sh',
      ['--registry', 'r.example', '--tag', '1.0.0'],
      cluster.env,
    );
    expect(first.code).toBe(0);
    const second = await runScript(
      'scripts/deploy/staging.sh',
      ['--registry', 'r.example', '--tag', '1.1.0', '--rollout-timeout', '5s'],
      { ...cluster.env, FAKE_KUBE_FAIL_ROLLOUT: '^search-service$' },
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/rollout failed; undone/);
    const search = await cluster.object('Deployment', 'search-service', 'rag-staging');
    expect(search.spec.template.spec.containers[0].image).toBe('r.example/search-service:1.0.0');
  });

  it('refuses the latest tag before touching the cluster', async () => {
    const cluster = await newCluster({});
    const result = await runScript(
      'scripts/deploy/staging.sh',
      ['--registry', 'r.example', '--tag', 'latest'],
      cluster.env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the latest tag is not a release/);
    await expect(readFile(join(cluster.dir, 'calls.jsonl'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});

describe('the production blue-green deploy', () => {
  const bothColors = () => ({ 'gateway-blue': gatewayAddress, 'gateway-green': gatewayAddress });

  it('releases to blue first, then to green, keeping blue for a rollback', async () => {
    const cluster = await newCluster(bothColors());
    const first = await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0']);
    expect(first.stderr).toMatch(/released to blue/);
    expect(first.code).toBe(0);
    expect(await cluster.liveColor()).toBe('blue');

    const second = await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.1.0']);
    expect(second.stderr).toMatch(/smoke: all 7 checks passed/);
    expect(second.code).toBe(0);
    expect(await cluster.liveColor()).toBe('green');
    const service = await cluster.object('Service', 'gateway');
    expect(service.metadata.annotations['rag-system/previous-color']).toBe('blue');
    const green = await cluster.object('Deployment', 'gateway-green');
    expect(green.spec.template.spec.containers[0].image).toBe('r.example/gateway:1.1.0');
    // Green's gateway calls green's search service.
    expect(await readFile(join(cluster.dir, 'state.json'), 'utf8')).toContain(
      'http://search-service-green:8082',
    );
    // The old color stays up for a quick rollback, but its worker no longer takes jobs.
    expect(await cluster.replicas('gateway-blue')).toBeGreaterThan(0);
    expect(await cluster.replicas('ingest-worker-blue')).toBe(0);
    expect(await cluster.replicas('ingest-worker-green')).toBeGreaterThan(0);

    const back = await cluster.production(['rollback']);
    expect(back.code).toBe(0);
    expect(await cluster.liveColor()).toBe('blue');
    expect(await cluster.replicas('ingest-worker-blue')).toBeGreaterThan(0);
    expect(await cluster.replicas('ingest-worker-green')).toBe(0);

    const retire = await cluster.production(['retire']);
    expect(retire.code).toBe(0);
    for (const app of ['gateway', 'search-service', 'embedding-service', 'ingest-worker']) {
      expect(await cluster.replicas(`${app}-green`)).toBe(0);
    }
    // The next release goes to the retired color and scales it up again.
    const third = await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.2.0']);
    expect(third.code).toBe(0);
    expect(await cluster.liveColor()).toBe('green');
    expect(await cluster.replicas('gateway-green')).toBe(3);
  }, 240_000); // four releases and rollbacks, each some forty kubectl calls

  it('rolls back by itself when the new color fails its smoke gate: traffic never moves', async () => {
    const cluster = await newCluster({ 'gateway-blue': gatewayAddress, 'gateway-green': deadAddress });
    expect((await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0'])).code).toBe(0);
    const result = await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.1.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /rollback: smoke test of green failed; green scaled to zero, traffic unchanged on blue/,
    );
    expect(await cluster.liveColor()).toBe('blue');
    for (const app of ['gateway', 'search-service', 'embedding-service', 'ingest-worker']) {
      expect(await cluster.replicas(`${app}-green`)).toBe(0);
      expect(await cluster.replicas(`${app}-blue`)).toBeGreaterThan(0);
    }
    const patches = (await cluster.calls()).filter((args) => args[0] === 'patch');
    expect(patches).toHaveLength(1); // the first release's switch to blue, nothing since
  });

  it('rolls back by itself when a rollout of the new color never finishes', async () => {
    const cluster = await newCluster(bothColors());
    expect((await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0'])).code).toBe(0);
    const result = await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.1.0'], {
      FAKE_KUBE_FAIL_ROLLOUT: '^embedding-service-green$',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rollback: green did not become ready/);
    expect(await cluster.liveColor()).toBe('blue');
    expect(await cluster.replicas('gateway-green')).toBe(0);
    expect(await cluster.replicas('ingest-worker-blue')).toBeGreaterThan(0);
  });

  it('switches back to the old color when the check through the public address fails after the switch', async () => {
    const cluster = await newCluster(bothColors());
    expect((await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0'])).code).toBe(0);
    const result = await cluster.production([
      'deploy',
      '--registry',
      'r.example',
      '--tag',
      '1.1.0',
      '--public-url',
      `http://${deadAddress}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rollback: green failed after the switch; traffic back on blue/);
    expect(await cluster.liveColor()).toBe('blue');
    expect(await cluster.replicas('gateway-green')).toBe(0);
    expect(await cluster.replicas('ingest-worker-blue')).toBeGreaterThan(0);
    const switches = (await cluster.calls())
      .filter((args) => args[0] === 'patch')
      .map((args) => JSON.parse(args.at(-1)!).spec.selector['app.kubernetes.io/color']);
    expect(switches).toEqual(['blue', 'green', 'blue']);
  });

  it('refuses a rollback with nothing to roll back to', async () => {
    const cluster = await newCluster(bothColors());
    const result = await cluster.production(['rollback']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no live color: nothing to roll back/);
  });
});

describe('the production error-ratio gate, on a real Prometheus scraping the gateway', () => {
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let prometheusDir: string;

  async function query(promql: string): Promise<Array<{ value: [number, string] }>> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      data: { result: Array<{ value: [number, string] }> };
    };
    expect(body.status).toBe('success');
    return body.data.result;
  }

  async function until(what: string, check: () => Promise<boolean>) {
    const deadline = Date.now() + 60_000;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`Prometheus: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  beforeAll(async () => {
    const binary = (
      await run('bash', ['scripts/deploy/testing/prometheus.sh'], { cwd: repoRoot })
    ).stdout.trim();
    prometheusDir = await mkdtemp(join(tmpdir(), 'prometheus-'));
    // The gateway scraped as Kubernetes service discovery would label a pod of the green color.
    await writeFile(
      join(prometheusDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s }',
        'scrape_configs:',
        '  - job_name: gateway',
        '    static_configs:',
        `      - targets: ["${new URL(stack.services.at(-1)!.managementUrl).host}"]`,
        '        labels: { namespace: rag-prod, pod: gateway-green-5d8c7f9b6-x2x7q }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      binary,
      [
        `--config.file=${join(prometheusDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(prometheusDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await until(
      'never scraped the gateway',
      async () => (await query('up{job="gateway"} == 1')).length === 1,
    );
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    if (prometheusDir) await rm(prometheusDir, { recursive: true, force: true });
  });

  it('lets a release with no 5xx answers through', async () => {
    const cluster = await newCluster({ 'gateway-blue': gatewayAddress, 'gateway-green': gatewayAddress });
    expect((await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0'])).code).toBe(0);
    const result = await cluster.production([
      'deploy',
      '--registry',
      'r.example',
      '--tag',
      '1.1.0',
      '--prometheus',
      prometheusUrl,
      '--watch-seconds',
      '0',
    ]);
    expect(result.stderr).toMatch(/watching the error ratio of gateway-green/);
    expect(result.code).toBe(0);
    expect(await cluster.liveColor()).toBe('green');
  });

  it('switches back when the new gateway answers 5xx after the switch', async () => {
    const cluster = await newCluster({ 'gateway-blue': gatewayAddress, 'gateway-green': gatewayAddress });
    expect((await cluster.production(['deploy', '--registry', 'r.example', '--tag', '1.0.0'])).code).toBe(0);
    // A real failure behind the gateway: its search service goes away for a while, searches fail with 5xx.
    await stack.services.find((s) => s.name === 'search-service')!.stop();
    const failSearches = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const { status } = await stack.call('POST', '/v1/search', {
          key: smokeKey,
          body: { collection: 'smoke', query: 'anything' },
        });
        expect(status).toBeGreaterThanOrEqual(500);
      }
    };
    // rate() counts only increases between two scrapes: a 5xx series first seen with all its answers in it has
    // rate 0. So Prometheus sees the series first, then the burst on top of it.
    await failSearches(2);
    await until(
      'never saw the first 5xx answers',
      async () => (await query('sum(http_requests_total{job="gateway",status=~"5.."}) >= 2')).length === 1,
    );
    await failSearches(20);
    await stack.restart('search-service');
    await until(
      'never saw the 5xx rate the gate reads',
      async () =>
        (await query('sum(rate(http_requests_total{job="gateway",status=~"5.."}[2m])) > 0')).length === 1,
    );
    const result = await cluster.production([
      'deploy',
      '--registry',
      'r.example',
      '--tag',
      '1.1.0',
      '--prometheus',
      prometheusUrl,
      '--watch-seconds',
      '0',
    ]);
    expect(result.stderr).toMatch(
      /gateway-green answers 5xx to a share of 0\.\d+ of requests \(limit 0\.02\)/,
    );
    expect(result.stderr).toMatch(/rollback: green failed after the switch; traffic back on blue/);
    expect(result.code).toBe(1);
    expect(await cluster.liveColor()).toBe('blue');
    expect(await cluster.replicas('gateway-green')).toBe(0);
  });
});
