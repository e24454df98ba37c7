import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import type { MilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkRows, collectionId, openVectorStore, vectorChunkIds } from './ingest-support.js';
import { type Stack, startStack } from './stack.js';

/**
 * Milvus SIGKILLed and started again without vectors it had acknowledged: the worker notices
 * Milvus answering again and rebuilds the missing vectors from PostgreSQL by itself, with no doctor run.
 */
let stack: Stack;
let modelDir: string;
let store: MilvusStore;
let restarted: MilvusLite | undefined;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir, workerEnv: { COLLECTION_LOCK_TTL_MS: '2000' } });
  store = await openVectorStore(stack);
  expect((await stack.call('POST', '/v1/collections', { body: { name: 'recovered' } })).status).toBe(201);
});

afterAll(async () => {
  await store?.close().catch(() => {});
  await stack?.stop();
  await restarted?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ReadinessBody {
  ready: boolean;
  checks?: Record<string, { ok: boolean; error?: string }>;
}

/** Calls `read` twice a second until `done` holds or the time is up; returns the last answer either way. */
async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  limitMs: number,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(500);
    value = await read();
  }
  return value;
}

describe('vector recovery after a Milvus restart', () => {
  it('rebuilds the vectors a restarted Milvus lost once it is back', async () => {
    const text = Array.from({ length: 6 }, (_, i) => `Recovered paragraph ${i} about travel rules.`).join(
      '\n\n',
    );
    const answer = await stack.call('POST', '/v1/collections/recovered/documents', {
      body: { external_id: 'kept', text },
    });
    await stack.waitForStatus(answer.body.id, undefined, ['ready']);
    const scope = { tenantId: 'default', collectionId: await collectionId(stack, 'default', 'recovered') };
    const rows = await chunkRows(stack, answer.body.id);
    const expected = rows.map((row) => row.id).sort();

    // The lost writes: Milvus killed and started again on the same address with none of its data (a
    // deleted vector in place of this is not reliable: Milvus Lite may lose the delete itself).
    const { milvus } = stack;
    const worker = stack.services.find((service) => service.name === 'ingest-worker')!;
    const readiness = async () => {
      const response = await fetch(`${worker.managementUrl}/health/ready`);
      return { status: response.status, body: (await response.json()) as ReadinessBody };
    };
    const [host, port] = milvus.address.split(':');
    process.kill(milvus.pid, 'SIGKILL');
    await milvus.exited;
    // The worker's probe sees Milvus down: readiness names the store and the vectors it may have lost.
    const down = await pollUntil(readiness, (r) => r.body.checks?.vectors?.ok === false, 20_000);
    expect(down.status, worker.output(40)).toBe(503);
    expect(down.body.checks?.vectors?.ok).toBe(false);
    expect(down.body.checks?.milvus?.ok).toBe(false);
    restarted = await startMilvusLite({ host: host!, port: Number(port) });

    // Ready again only once the vectors are back: nothing is missing at the moment readiness turns green.
    const up = await pollUntil(readiness, (r) => r.status === 200, 60_000);
    expect(up.status, worker.output(40)).toBe(200);
    expect(await vectorChunkIds(store, scope, answer.body.id)).toEqual(expected);

    const metrics = await (await fetch(`${worker.managementUrl}/metrics`)).text();
    expect(
      metrics.split('\n').filter((line) => line.startsWith('ingest_vectors_repaired_total')),
      worker.output(40),
    ).toEqual([expect.stringMatching(/^ingest_vectors_repaired_total({[^}]*})? [1-9]/)]);
  }, 120_000);
});
