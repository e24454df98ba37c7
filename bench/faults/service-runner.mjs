// Runs one built service as production does (`node --import @rag/telemetry/register dist/main.js`) on the
// given port, with its readiness and metrics on a management port of its own, and resolves once
// /health/ready answers 200 (asked on the management port, and on the service port for builds that serve
// readiness there).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * @param {{app: string, repoRoot: string, port: number, managementPort: number, env: Record<string, string>,
 *   readyTimeoutMs?: number}} options
 */
export async function runService(options) {
  const cwd = join(options.repoRoot, 'apps', options.app);
  if (!existsSync(join(cwd, 'dist', 'main.js'))) {
    throw new Error(
      `${options.app} is not built (no apps/${options.app}/dist/main.js): run pnpm build first`,
    );
  }
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', '@rag/telemetry/register', 'dist/main.js'],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        OTEL_SERVICE_NAME: options.app,
        RAG_BASE_DIR: options.repoRoot,
        ...options.env,
        PORT: String(options.port),
        MANAGEMENT_PORT: String(options.managementPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = [];
  const collect = (chunk) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${options.port}`;
  const readinessUrls = [`http://127.0.0.1:${options.managementPort}/health/ready`, `${url}/health/ready`];
  const service = {
    name: options.app,
    url,
    port: options.port,
    process: child,
    exited,
    output: (count = 40) => lines.slice(-count).join('\n'),
    async ready() {
      for (const readiness of readinessUrls) {
        const ok = await fetch(readiness, { signal: AbortSignal.timeout(3000) })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) return true;
      }
      return false;
    },
    /** SIGTERM, SIGKILL after the grace period; resolves once the process has exited. */
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  while (!(await service.ready())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.app} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${service.output()}`,
      );
    }
    if (Date.now() > deadline) {
      await service.stop(2000);
      throw new Error(
        `${options.app} was not ready within ${options.readyTimeoutMs ?? 120_000} ms:\n${service.output()}`,
      );
    }
    await delay(200);
  }
  return service;
}
