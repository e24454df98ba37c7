import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { freePort } from './free-port.js';

/**
 * Starts a private Milvus Lite server (a Milvus-protocol gRPC server backed by a local data dir) as a
 * child process. Used by integration tests, one per test file, and by the local `pnpm start` script, so
 * it must not depend on vitest.
 */

export interface MilvusLiteOptions {
  /** Defaults to a fresh temp dir, removed again by stop(). A dir you pass is kept. */
  dataDir?: string;
  /** Defaults to a free port. */
  port?: number;
  host?: string;
  /** Defaults to the repo's `.venv/milvus` (created by `pnpm milvus:setup`). */
  pythonPath?: string;
  startTimeoutMs?: number;
}

export interface MilvusLite {
  /** `host:port`, ready for `new MilvusClient({ address })`. */
  address: string;
  dataDir: string;
  /** The server's process id, for tests that kill or stop it the hard way (SIGKILL, SIGSTOP). */
  pid: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the server process has ended, for whatever reason. */
  exited: Promise<void>;
}

const defaultStartTimeoutMs = 60_000;
// Milvus Lite drains requests for up to 5 s on shutdown; give it that plus closing the data dir.
const stopGraceMs = 10_000;
const outputTailChars = 4_000;
// Printed by Milvus Lite once its gRPC server has bound the port.
const listeningMarker = 'gRPC server listening on';
// A free port found by binding port 0 can be taken by someone else before Python binds it; then we try
// another one.
const portAttempts = 3;

/** Walks up from this module to the folder holding pnpm-workspace.yaml (works from src and dist). */
export function findRepoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = parent;
  }
}

export function milvusPythonPath(repoRoot: string): string {
  return join(repoRoot, '.venv', 'milvus', 'bin', 'python');
}

export async function startMilvusLite(options: MilvusLiteOptions = {}): Promise<MilvusLite> {
  const repoRoot = findRepoRoot();
  const pythonPath = options.pythonPath ?? milvusPythonPath(repoRoot);
  if (!existsSync(pythonPath)) {
    throw new Error(`Milvus Lite needs ${pythonPath}; run \`pnpm milvus:setup\` first`);
  }
  const host = options.host ?? '127.0.0.1';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'milvus-lite-')));
  const launch = {
    pythonPath,
    scriptPath: join(repoRoot, 'scripts', 'milvus-lite-server.py'),
    dataDir,
    host,
    timeoutMs: options.startTimeoutMs ?? defaultStartTimeoutMs,
  };

  const attempts = options.port === undefined ? portAttempts : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort(host));
    try {
      const server = await launchServer({ ...launch, port });
      return {
        address: `${host}:${port}`,
        dataDir,
        pid: server.pid,
        exited: server.exited,
        stop: once(async () => {
          await server.stop();
          if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
        }),
      };
    } catch (error) {
      const retry = error instanceof ServerExitedError && error.portTaken && attempt < attempts;
      if (!retry) {
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

interface LaunchSpec {
  pythonPath: string;
  scriptPath: string;
  dataDir: string;
  host: string;
  port: number;
  timeoutMs: number;
}

class ServerExitedError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

async function launchServer(
  spec: LaunchSpec,
): Promise<{ pid: number; stop(): Promise<void>; exited: Promise<void> }> {
  const child = spawn(
    spec.pythonPath,
    [spec.scriptPath, '--data-dir', spec.dataDir, '--host', spec.host, '--port', String(spec.port)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  );
  const output = captureTail(child);
  // Someone else may be listening on the port (a port passed in, or taken since we picked it): only the
  // launcher's own "listening" line proves that our process holds it.
  let listening = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (chunk.toString('utf8').includes(listeningMarker)) listening = true;
  });
  let spawnError: Error | undefined;
  // 'close' comes after 'exit' once stdout and stderr are drained, so the output tail is complete.
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const stop = once(() => stopProcess(child, closed));

  const deadline = Date.now() + spec.timeoutMs;
  const describe = (what: string) =>
    `Milvus Lite at ${spec.host}:${spec.port} (data dir ${spec.dataDir}) ${what}\n--- server output (tail) ---\n${output()}`;
  const failIfExited = async () => {
    if (!hasExited(child) && spawnError === undefined) return;
    await closed;
    throw new ServerExitedError(
      describe(spawnError ? `failed to spawn: ${spawnError.message}` : `exited with code ${child.exitCode}`),
      // The launcher turns SO_REUSEPORT off, so a taken port fails with gRPC's bind error.
      /Failed to bind to address/.test(output()),
    );
  };

  try {
    while (!(listening && (await portAcceptsConnections(spec.host, spec.port)))) {
      await failIfExited();
      if (Date.now() > deadline) throw new Error(describe(`did not open its port in ${spec.timeoutMs} ms`));
      await delay(100);
    }
    await waitUntilHealthy(`${spec.host}:${spec.port}`, deadline, failIfExited).catch((error: unknown) => {
      if (error instanceof ServerExitedError) throw error;
      throw new Error(describe(`did not become healthy in ${spec.timeoutMs} ms: ${String(error)}`));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, stop, exited: closed };
}

async function waitUntilHealthy(
  address: string,
  deadline: number,
  failIfExited: () => Promise<void>,
): Promise<void> {
  const client = new MilvusClient({
    address,
    logLevel: 'error',
    timeout: 5_000,
    // gRPC keeps the connection after close for a while; without idle pings it never trips Milvus Lite's
    // "too many pings" rule (see the vector store's client settings).
    channelOptions: { 'grpc.keepalive_permit_without_calls': 0 },
  });
  let lastProblem = 'no answer yet';
  try {
    for (;;) {
      await failIfExited();
      try {
        const health = await client.checkHealth();
        if (health.isHealthy) return;
        lastProblem = `unhealthy: ${health.reasons?.join('; ') ?? 'no reason given'}`;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) throw new Error(lastProblem);
      await delay(200);
    }
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
}

async function stopProcess(child: ChildProcess, closed: Promise<void>): Promise<void> {
  if (!hasExited(child)) child.kill('SIGTERM');
  // Unref'd, so a finished stop does not hold the event loop open for the rest of the grace period.
  const timer = delay(stopGraceMs, 'timeout' as const, { ref: false });
  if ((await Promise.race([closed, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await closed;
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Keeps the last few KB of stdout and stderr, so start-up failures can say why. */
function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-outputTailChars);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail.trimEnd() || '(no output)';
}

async function portAcceptsConnections(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
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

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn();
    return running;
  };
}
