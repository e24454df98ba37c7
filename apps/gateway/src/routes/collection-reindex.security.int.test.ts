import { endReindex, insertReindex, recordReindexProgress } from '@rag/db/reindex-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

/**
 * A collection's reindex on GET /v1/collections/{name} and in GET /v1/collections: shown while it runs and for
 * a day after it ended, to those who may read the collection, and to nobody else: not to another tenant
 * (which has a collection of the same name), nor to a credential scoped to another collection.
 */

let gateway: TestGateway;
const keys: Record<string, string> = {};
let reindexId: string;

type Listed = { name: string; reindex: unknown };

async function listed(key: string): Promise<Listed[]> {
  const answer = await gateway.call('GET', '/v1/collections', { key });
  expect(answer.status).toBe(200);
  return answer.body.collections as Listed[];
}

beforeAll(async () => {
  gateway = await startTestGateway({ tenants: ['acme', 'globex'] });
  const create = async (tenant: string, body: Record<string, unknown>) => {
    const created = await gateway.call('POST', '/v1/api-keys', { body: { tenant, ...body } });
    expect(created.status).toBe(201);
    return String(created.body.key);
  };
  keys.acmeAdmin = await create('acme', { role: 'admin' });
  keys.acmeReader = await create('acme', { role: 'reader' });
  keys.acmeOtherScope = await create('acme', { role: 'admin', collections: ['other'] });
  keys.globexAdmin = await create('globex', { role: 'admin' });
  keys.globexReader = await create('globex', { role: 'reader' });
  for (const [key, name] of [
    [keys.acmeAdmin, 'handbook'],
    [keys.acmeAdmin, 'other'],
    [keys.globexAdmin, 'handbook'],
  ] as const) {
    const created = await gateway.call('POST', '/v1/collections', { key, body: { name } });
    expect(created.status).toBe(201);
    expect(created.body.reindex).toBeNull();
  }
  const document = await gateway.call('POST', '/v1/collections/handbook/documents', {
    key: keys.acmeAdmin,
    body: { external_id: 'travel', text: 'Book travel through the portal.' },
  });
  expect(document.status).toBe(202);
  // A move as the gateway's POST records it and the worker advances it (no worker runs here).
  const { rows } = await gateway.db.pool.query(
    "SELECT c.id FROM collections c WHERE c.tenant_id = 'acme' AND c.name = 'handbook'",
  );
  const reindex = await insertReindex(gateway.db.pool, {
    collectionId: rows[0].id,
    tenantId: 'acme',
    from: { name: 'model-a', manifestHash: 'a'.repeat(64) },
    to: { name: 'model-b', manifestHash: 'b'.repeat(64) },
  });
  reindexId = reindex!.id;
  expect(
    await recordReindexProgress(gateway.db.pool, reindexId, {
      afterDocument: String(document.body.id),
      documents: 1,
      chunks: 2,
    }),
  ).toBe(true);
});

afterAll(async () => {
  await gateway?.close();
});

describe("a collection's reindex on the collection routes", () => {
  it('shows the running move with its progress to a reader of the collection, in the list too', async () => {
    const answer = await gateway.call('GET', '/v1/collections/handbook', { key: keys.acmeReader! });
    expect(answer.status).toBe(200);
    expect(answer.body.reindex).toEqual({
      id: reindexId,
      state: 'running',
      from_model: 'model-a',
      to_model: 'model-b',
      documents: { done: 1, total: 1 },
      started_at: expect.any(String),
      finished_at: null,
      error: null,
    });
    const list = await listed(keys.acmeReader!);
    expect(list.find((c) => c.name === 'handbook')?.reindex).toEqual(answer.body.reindex);
    expect(list.find((c) => c.name === 'other')?.reindex).toBeNull();
  });

  it('shows nothing of it to another tenant, even under the same collection name', async () => {
    for (const key of [keys.globexReader!, keys.globexAdmin!]) {
      const own = await gateway.call('GET', '/v1/collections/handbook', { key });
      expect(own.status).toBe(200);
      expect(own.body.reindex).toBeNull();
      expect(await listed(key)).toEqual([expect.objectContaining({ name: 'handbook', reindex: null })]);
      const reindex = await gateway.call('GET', '/v1/collections/handbook/reindex', { key });
      expect(reindex.status).toBe(404);
      expect(JSON.stringify(reindex.body)).not.toContain(reindexId);
    }
  });

  it('shows nothing of it to a credential scoped to another collection of the tenant', async () => {
    const answer = await gateway.call('GET', '/v1/collections/handbook', { key: keys.acmeOtherScope! });
    expect(answer.status).toBe(404);
    expect(JSON.stringify(answer.body)).not.toContain(reindexId);
    expect((await listed(keys.acmeOtherScope!)).map((c) => c.name)).toEqual(['other']);
  });

  it('shows an ended move for a day, then no more', async () => {
    expect(await endReindex(gateway.db.pool, reindexId, 'cancelled')).toBe(true);
    const ended = await gateway.call('GET', '/v1/collections/handbook', { key: keys.acmeReader! });
    expect(ended.body.reindex).toMatchObject({ state: 'cancelled', finished_at: expect.any(String) });
    await gateway.db.pool.query(
      "UPDATE collection_reindexes SET finished_at = now() - interval '25 hours' WHERE id = $1",
      [reindexId],
    );
    const later = await gateway.call('GET', '/v1/collections/handbook', { key: keys.acmeReader! });
    expect(later.body.reindex).toBeNull();
    expect((await listed(keys.acmeReader!)).find((c) => c.name === 'handbook')?.reindex).toBeNull();
    // The reindex route still tells the whole story.
    const route = await gateway.call('GET', '/v1/collections/handbook/reindex', { key: keys.acmeReader! });
    expect(route.body).toMatchObject({ id: reindexId, state: 'cancelled' });
  });
});
