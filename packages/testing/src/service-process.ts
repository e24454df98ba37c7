import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface ServiceProcess {
  name: string;
  url: string;
  /** The management listener: /health/ready and /metrics. */
  managementUrl: string;
  process: ChildProcess;
  /** Settles with the exit code (null after a signal) when the process ends, for whatever reason. */
  exited: Promise<number | null>;
  /** The last lines the service printed (JSON logs; up to 400 are kept), for assertions and failure messages. */
  output(lines?: number): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartServiceOptions {
  /** App folder name under apps/, e.g. "gateway". */
  app: string;
  repoRoot: string;
  port: number;
  /** Where readiness and metrics listen; a free port when left out. */
  managementPort?: number;
  env: Record<string, string>;
  readyTimeoutMs?: number;
  /** Print the service's output to this process's stderr as it comes (for `pnpm start`). */
  echo?: boolean;
}

/**
 * Runs a built app the way production does (`node --import @rag/telemetry/register dist/main.js`) and
 * resolves once its /health/ready (on the management port) answers 200.
 */
export async function startService(options: StartServiceOptions): Promise<ServiceProcess> {
  const cwd = join(options.repoRoot, 'apps', options.app);
  if (!existsSync(join(cwd, 'dist', 'main.js'))) {
    throw new Error(
      `${options.app} is not built (no apps/${options.app}/dist/main.js): run pnpm build first`,
    );
  }
  const managementPort = options.managementPort ?? (await freePortOtherThan(options.port));
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', '@rag/telemetry/register', 'dist/main.js'],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        OTEL_SERVICE_NAME: options.app,
        // Relative path settings (STORAGE_ROOT's default .data/storage among them) are read from the
        // checkout, whichever app folder the service runs in.
        RAG_BASE_DIR: options.repoRoot,
        ...options.env,
        PORT: String(options.port),
        MANAGEMENT_PORT: String(managementPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (options.echo) process.stderr.write(text);
    lines.push(...text.split('\n').filter(Boolean));
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = `http://127.0.0.1:${options.port}`;
  const service: ServiceProcess = {
    name: options.app,
    url,
    managementUrl: `http://127.0.0.1:${managementPort}`,
    process: child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: (count = 60) => lines.slice(-count).join('\n'),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      return child.exitCode;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `${options.app} exited with code ${child.exitCode} before it was ready:\n${service.output()}`,
      );
    }
    try {
      const response = await fetch(`${service.managementUrl}/health/ready`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (response.status === 200) return service;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await service.stop(2_000);
  throw new Error(
    `${options.app} was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${service.output()}`,
  );
}

/**
 * A free port for the management listener. On a restart the service's own port is free again until the new
 * process binds it, so the kernel may hand out that very number: ask again until it differs.
 */
async function freePortOtherThan(port: number | undefined): Promise<number> {
  for (;;) {
    const candidate = await freePort();
    if (candidate !== port) return candidate;
  }
}
