import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';

/**
 * A real S3-protocol server for tests: moto in server mode (`.venv/s3`, made by scripts/test.sh), one per
 * test file on a free port. It speaks the S3 REST API, so the AWS SDK talks to it exactly as to S3.
 */
export interface S3TestServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startS3TestServer(): Promise<S3TestServer> {
  const binary = join(findRepoRoot(), '.venv', 's3', 'bin', 'moto_server');
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing; run: bash scripts/python-venv.sh s3 "moto[server]==5.2.5"`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${output}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start: ${output}`);
    }
    await delay(200);
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
