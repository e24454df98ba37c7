// Starts a private stack (Milvus Lite, a fresh PostgreSQL schema, the four services on free ports, the tiny
// generated model) with a second embedding service on another generated model (48 dimensions) that
// collections may be created on or moved to, prints {"url", "admin_key", ...} as one JSON line, and stops it
// all when its standard input closes (the test session ended, or died).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPrivateStack } from '../../../bench/private-stack.mjs';

const repoRoot = resolve(import.meta.dirname, '../../..');
const { freePort } = await import('../../../packages/testing/dist/free-port.js');
const { startService } = await import('../../../packages/testing/dist/service-process.js');
const { writeTinyModel } = await import('../../../packages/models/dist/tiny-model.js');

const secondDir = await mkdtemp(join(tmpdir(), 'pyclient-model-'));
await writeTinyModel(secondDir, { dim: 48, seed: 7 });
const secondPort = await freePort();
// The writer lock's keys carry this prefix: the tests hold a collection's lock to hold a move still.
const redisPrefix = `pyclient_${randomBytes(4).toString('hex')}`;
const stack = await startPrivateStack({
  namePrefix: 'pyclient',
  storageRoot: true,
  env: { EMBEDDING_SERVICE_URLS: `http://127.0.0.1:${secondPort}`, REDIS_KEY_PREFIX: redisPrefix },
});
const second = await startService({
  app: 'embedding-service',
  repoRoot,
  port: secondPort,
  env: { SERVICE_TOKEN: stack.serviceToken, MODEL_DIR: secondDir, LOG_LEVEL: 'warn' },
});
process.stdout.write(
  `${JSON.stringify({
    url: stack.gatewayUrl,
    admin_key: stack.adminKey,
    database_url: stack.databaseUrl,
    schema: stack.schema,
    redis_prefix: redisPrefix,
  })}\n`,
);
process.stdin.resume();
process.stdin.on('end', async () => {
  await second.stop();
  await stack.stop();
  await rm(secondDir, { recursive: true, force: true });
  process.exit(0);
});
