import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * `rag ingest --wait` held to a per-credential rate limit far below what the folder needs: every call turned
 * away with 429 is sent again after Retry-After, and no document is reported failed because of it.
 */

const cliPath = join(findRepoRoot(), 'packages', 'cli', 'dist', 'cli.js');
const limitPerMinute = 12;
const fileCount = 10;

let stack: Stack;
let modelDir: string;
let folder: string;
let key: string;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  folder = await mkdtemp(join(tmpdir(), 'rag-cli-limited-'));
  for (let i = 1; i <= fileCount; i++) {
    await writeFile(
      join(folder, `note-${i}.txt`),
      `Meeting note number ${i}: the agenda item ${i * 7} was settled.\n`,
    );
  }
  stack = await startStack({
    modelDir,
    gatewayEnv: { RATE_LIMIT_PER_CREDENTIAL: String(limitPerMinute) },
  });
  expect((await stack.call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  const created = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'acme', role: 'admin' } });
  expect(created.status).toBe(201);
  key = created.body.key;
  expect((await stack.call('POST', '/v1/collections', { key, body: { name: 'notes' } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  await rm(folder, { recursive: true, force: true });
});

it('finishes an ingest under a low rate limit without a single false failure', async () => {
  // Spend the key's budget first, so that the CLI is turned away from its very first call.
  const gateway = stack.services.at(-1)!.url;
  let turnedAway = false;
  for (let i = 0; i <= limitPerMinute && !turnedAway; i++) {
    const answer = await fetch(`${gateway}/v1/collections`, { headers: { authorization: `Bearer ${key}` } });
    turnedAway = answer.status === 429;
  }
  expect(turnedAway).toBe(true);
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cliPath, 'ingest', folder, '--collection', 'notes', '--wait', '--concurrency', '4'],
      {
        env: { ...process.env, RAG_URL: gateway, RAG_API_KEY: key },
        timeout: 280_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
  expect(run.stdout).toBe(
    `${fileCount} files: ${fileCount} queued, 0 unchanged, 0 skipped\n${fileCount} ready, 0 failed\n`,
  );
  expect(run.code).toBe(0);
}, 300_000);
