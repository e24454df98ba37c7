import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { type PrivateRedisCluster, startRedisCluster } from '@rag/testing/redis-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The four services on a Redis Cluster of three masters, configured as an operator configures them
 * (`REDIS_CLUSTER=true`, `REDIS_URL` listing the seed nodes): a document goes from the gateway through the
 * queue to the worker and its writer lock, search caches its answers in the cluster, and a delete goes the
 * same way back.
 */
let cluster: PrivateRedisCluster;
let stack: Stack;
let modelDir: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    gatewayEnv: { INGEST_BACKOFF_MS: '200' },
    extraEnv: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' },
  });
});

afterAll(async () => {
  const exitCodes = await stack?.stop();
  await cluster?.stop();
  await rm(modelDir, { recursive: true, force: true });
  expect(exitCodes).toEqual(exitCodes?.map(([name]) => [name, 0]));
});

/** Every key on every node of the cluster that starts with the pattern's prefix. */
async function clusterKeys(pattern: string): Promise<string[]> {
  const perNode = await Promise.all(cluster.ports.map((port) => cluster.cli(port, 'keys', pattern)));
  return perNode.flatMap((output) => output.split('\n').filter(Boolean));
}

describe('the stack on a Redis Cluster', () => {
  it('is ready: every service reaches the cluster', async () => {
    for (const service of stack.services) {
      expect((await fetch(`${service.managementUrl}/health/ready`)).status).toBe(200);
    }
  });

  it('ingests a document through the queue, finds it, and deletes it again', async () => {
    const { call, waitForStatus } = stack;
    expect((await call('POST', '/v1/collections', { body: { name: 'handbook' } })).status).toBe(201);
    const upload = await call('POST', '/v1/collections/handbook/documents', {
      body: {
        external_id: 'vacuum',
        text: 'Empty the dust bin after every cleaning run and rinse the washable filter once a week.',
      },
    });
    expect(upload.status).toBe(202);
    expect(await waitForStatus(upload.body.id, undefined, ['ready', 'failed'])).toMatchObject({
      status: 'ready',
      chunks: 1,
    });

    const search = await call('POST', '/v1/search', {
      body: { collection: 'handbook', query: 'rinse the washable filter' },
    });
    expect(search.status).toBe(200);
    expect(search.body.results[0]).toMatchObject({ document_id: upload.body.id, external_id: 'vacuum' });
    // The answer was cached in the cluster, under the plain prefix.
    expect(await clusterKeys(`${stack.redisPrefix}:search:answer*`)).not.toHaveLength(0);

    expect((await call('DELETE', `/v1/documents/${upload.body.id}`)).status).toBe(202);
    await waitForStatus(upload.body.id, undefined, ['gone']);
  });

  it('keeps the queues under the hash-tagged prefix and nothing of them under the plain one', async () => {
    const tagged = await clusterKeys(`{${stack.redisPrefix}}:*`);
    expect(tagged.some((key) => key.startsWith(`{${stack.redisPrefix}}:ingest:`))).toBe(true);
    expect(tagged.some((key) => key.startsWith(`{${stack.redisPrefix}}:ingest-events:`))).toBe(true);
    expect(await clusterKeys(`${stack.redisPrefix}:ingest*`)).toEqual([]);
  });
});
