import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * Graceful shutdown under load: SIGTERM lets requests already accepted finish, and a worker stopped in the
 * middle of a queue loses no job and duplicates nothing.
 */
let stack: Stack;
let modelDir: string;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  // As behind a load balancer: after SIGTERM, readiness fails at once and the listener drains for a second.
  stack = await startStack({
    modelDir,
    gatewayEnv: { RATE_LIMIT_PER_CREDENTIAL: '100000' },
    extraEnv: { SHUTDOWN_DELAY_MS: '1000' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

async function waitUntil(condition: () => Promise<boolean>, failure: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function inFlight(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^http_requests_in_flight\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('SIGTERM', () => {
  it('lets every request accepted by the embedding service finish before it exits', async () => {
    const embedding = stack.services.find((s) => s.name === 'embedding-service')!;
    const texts = Array.from(
      { length: 128 },
      (_, i) => `passage ${i}: ${'retrieval augmented generation '.repeat(20)}`,
    );
    const requests = Array.from({ length: 8 }, () =>
      fetch(`${embedding.url}/v1/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': stack.serviceToken },
        body: JSON.stringify({ texts, outputs: ['dense', 'sparse'] }),
      }).then(async (r) => ({
        status: r.status,
        count: ((await r.json()) as { data?: unknown[] }).data?.length,
      })),
    );
    // Stop the service while the requests are being served.
    await waitUntil(async () => (await inFlight(embedding.managementUrl)) >= 1, 'no request in flight');
    const exited = embedding.stop();
    // Readiness fails at once, so a load balancer stops sending new requests, while accepted ones finish.
    await waitUntil(
      async () =>
        (await fetch(`${embedding.managementUrl}/health/ready`)
          .then((r) => r.status)
          .catch(() => 0)) === 503,
      'readiness never failed',
    );
    const answers = await Promise.all(requests);
    expect(answers).toEqual(Array.from({ length: 8 }, () => ({ status: 200, count: 128 })));
    expect(await exited).toBe(0);
    await stack.restart('embedding-service');
  });

  it('stops the worker between jobs: nothing is lost or duplicated when another worker takes over', async () => {
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'load' } })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const text = Array.from(
        { length: 40 },
        (_, j) => `Document ${i}, paragraph ${j} about shutdown ${i * 100 + j}.`,
      ).join('\n\n');
      ids.push((await stack.call('POST', '/v1/collections/load/documents', { body: { text } })).body.id);
    }
    // Stop the worker while the queue is being worked through.
    await stack.waitForStatus(ids[0]!, undefined, ['ready']);
    const worker = stack.services.find((s) => s.name === 'ingest-worker')!;
    expect(await worker.stop()).toBe(0);
    const { rows: midway } = await stack.db.query(
      `SELECT count(*) FILTER (WHERE status = 'ready')::int AS ready,
              count(*) FILTER (WHERE status = 'processing')::int AS processing,
              count(*)::int AS total
         FROM documents d JOIN collections c ON c.id = d.collection_id WHERE c.name = 'load'`,
    );
    // Stopped between jobs: the jobs it had started finished before it exited, none was left half done.
    // (How many of the others it reached depends on the machine's speed, so that is not counted here.)
    expect(midway[0]).toMatchObject({ processing: 0, total: 12 });
    expect(midway[0].ready).toBeGreaterThanOrEqual(1);
    await stack.restart('ingest-worker');
    for (const id of ids)
      expect((await stack.waitForStatus(id, undefined, ['ready', 'failed'])).status).toBe('ready');

    // PostgreSQL and Milvus agree chunk for chunk.
    const model = (await (
      await fetch(`${stack.services[0]!.url}/v1/model`, {
        headers: { 'x-service-token': stack.serviceToken },
      })
    ).json()) as { name: string; dim: number };
    const collectionId = (await stack.db.query("SELECT id FROM collections WHERE name = 'load'")).rows[0].id;
    const store = createMilvusStore({
      address: stack.milvus.address,
      collectionPrefix: stack.milvusPrefix,
      space: { model: model.name, dim: model.dim, hasSparse: true },
    });
    try {
      for (const id of ids) {
        const { rows } = await stack.db.query(
          'SELECT count(*)::int AS n FROM chunks WHERE document_id = $1',
          [id],
        );
        expect(rows[0].n).toBeGreaterThan(0);
        expect(await store.countByDocument({ tenantId: 'default', collectionId }, id)).toBe(rows[0].n);
      }
    } finally {
      await store.close();
    }
  });
});
