import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port.js';

/**
 * A private `redis-server` on a free port, for tests that stop and start Redis: the machine's shared Redis
 * must never be stopped under other tests. It keeps nothing on disk.
 */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts the server again on the same port after stop() (a restart after an outage). */
  start(): Promise<void>;
  /** Stops the server (SIGKILL: an outage, not a shutdown); resolves once the process has exited. */
  stop(): Promise<void>;
}

const startTimeoutMs = 10_000;

export async function startPrivateRedis(options: { redisServerPath?: string } = {}): Promise<PrivateRedis> {
  const binary = options.redisServerPath ?? 'redis-server';
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (child) return;
    const started = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    exited = new Promise((resolve) => {
      started.once('exit', () => resolve());
      started.once('error', () => resolve());
    });
    child = started;
    const deadline = Date.now() + startTimeoutMs;
    while (!(await accepts(port))) {
      if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server on port ${port} did not start:\n${output.trimEnd() || '(no output)'}`);
      }
      await delay(50);
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running) return;
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
    await exited;
  }

  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
}

/** Whether something accepts TCP connections on the port of 127.0.0.1. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
