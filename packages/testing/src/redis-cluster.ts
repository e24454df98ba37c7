import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { accepts } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster of three masters (no replicas) on free ports, made the way operators make one:
 * `redis-server --cluster-enabled yes` per node, then `redis-cli --cluster create`. Its nodes keep their
 * cluster state in a temporary folder that stop() removes; nothing is persisted.
 */
export interface PrivateRedisCluster {
  /** Every node as a seed list, `redis://127.0.0.1:<port>,...`: the form REDIS_URL takes with REDIS_CLUSTER. */
  url: string;
  ports: number[];
  /** Runs `redis-cli` against one node (`-c` follows redirections), returning its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const startTimeoutMs = 10_000;
const convergeTimeoutMs = 20_000;

export async function startRedisCluster(
  options: { masters?: number; redisServerPath?: string; redisCliPath?: string } = {},
): Promise<PrivateRedisCluster> {
  const masters = options.masters ?? 3;
  const server = options.redisServerPath ?? 'redis-server';
  const cliBinary = options.redisCliPath ?? 'redis-cli';
  const folder = await mkdtemp(join(tmpdir(), 'rag-redis-cluster-'));
  const nodes: Array<{ port: number; child: ChildProcess; exited: Promise<void> }> = [];

  async function stop(): Promise<void> {
    for (const node of nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    }
    await Promise.all(nodes.map((node) => node.exited));
    await rm(folder, { recursive: true, force: true });
  }

  const cli = async (port: number, ...args: string[]) =>
    (await run(cliBinary, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 })).stdout;

  try {
    for (let index = 0; index < masters; index++) {
      // The cluster bus gets a free port of its own: the default, port + 10000, may be taken or out of range.
      const port = await freePort();
      const busPort = await freePort();
      const child = spawn(
        server,
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(folder, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          folder,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-4000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const exited = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', () => resolve());
      });
      nodes.push({ port, child, exited });
      // Up before the next node picks its ports, so that no two nodes are handed the same free port.
      const deadline = Date.now() + startTimeoutMs;
      while (!(await accepts(port))) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(
            `redis-server --cluster-enabled on port ${port} did not start:\n${output.trimEnd() || '(no output)'}`,
          );
        }
        await delay(50);
      }
    }
    const ports = nodes.map((node) => node.port);
    await run(
      cliBinary,
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    // `--cluster create` returns once the slots are assigned; every node must also know the others and
    // report the cluster ok before a client that starts from any of them sees the whole cluster.
    const deadline = Date.now() + convergeTimeoutMs;
    for (;;) {
      const states = await Promise.all(ports.map((port) => cli(port, 'cluster', 'info')));
      const settled = states.every(
        (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`),
      );
      if (settled) break;
      if (Date.now() > deadline)
        throw new Error(`the Redis Cluster on ports ${ports.join(', ')} did not settle`);
      await delay(100);
    }
    return { url: ports.map((port) => `redis://127.0.0.1:${port}`).join(','), ports, cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
