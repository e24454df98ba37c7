import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey, limitedCallers, queuedJobs, useRouteTestGateway } from './route-test-fixture.js';

/**
 * The collection routes on the real PostgreSQL and Redis: creating (with or without a served model), listing,
 * reading and deleting collections, and a collection's document list (newest first, by cursor, filtered)
 * and summary, as a caller with an ACL-limited key and an unrestricted one see them. Every write is tried
 * with a reader, another tenant's admin and an admin scoped to another collection.
 */

let hrReader: string;
const servedModel = {
  name: 'served-model',
  dim: 4,
  maxLength: 128,
  outputs: { dense: true, sparse: false, colbert: false },
  manifestHash: 'c'.repeat(64),
};
/** The default model's embedding service (`embedding`): the models a collection may name. */
const route = useRouteTestGateway(
  { beforeAll, afterAll },
  {
    services: ['embedding'],
    answers: { embedding: { 'GET /v1/model': { status: 200, body: servedModel } } },
    gateway: ({ embedding }) => ({ embeddingUrls: [embedding.url] }),
    collections: ['handbook'],
  },
);
const ids: Record<string, string> = {};

type Listed = {
  documents: { id: string; external_id: string; status: string; acl: string[] | null }[];
  next_cursor: string | null;
};

beforeAll(async () => {
  hrReader = (await issueKey(route.gateway, 'acme', { role: 'reader', principals: ['group:hr'] })).key;
  // Added one after another, so each is newer than the one before.
  for (const [externalId, acl] of [
    ['policy/travel', undefined],
    ['policy/leave', ['group:hr']],
    ['policy/salaries', ['group:finance']],
    ['faq/100%_remote', undefined],
    ['faq/parking', undefined],
  ] as const) {
    const answer = await route.gateway.call('POST', '/v1/collections/handbook/documents', {
      key: route.keys.admin,
      body: { external_id: externalId, text: `About ${externalId}.`, ...(acl ? { acl } : {}) },
    });
    expect(answer.status).toBe(202);
    ids[externalId] = String(answer.body.id);
  }
  await route.gateway.db.pool.query(
    `UPDATE documents SET status = 'failed', error = 'parse error' WHERE id = $1`,
    [ids['faq/parking']],
  );
});

async function list(query: string, key = route.keys.admin): Promise<Listed> {
  const answer = await route.gateway.call('GET', `/v1/collections/handbook/documents${query}`, { key });
  expect(answer.status).toBe(200);
  return answer.body as unknown as Listed;
}

describe('GET /v1/collections/{name}/documents', () => {
  it('pages newest first by cursor, each document once', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page: Listed = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.documents.map((d) => d.external_id));
      cursor = page.next_cursor;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([
      'faq/parking',
      'faq/100%_remote',
      'policy/salaries',
      'policy/leave',
      'policy/travel',
    ]);
  });

  it('filters by status and by a literal external_id prefix', async () => {
    expect((await list('?status=failed')).documents.map((d) => d.external_id)).toEqual(['faq/parking']);
    expect((await list('?status=queued,failed')).documents).toHaveLength(5);
    expect((await list('?external_id_prefix=policy/')).documents.map((d) => d.external_id)).toEqual([
      'policy/salaries',
      'policy/leave',
      'policy/travel',
    ]);
    // % and _ are matched as themselves, not as LIKE wildcards.
    expect((await list('?external_id_prefix=faq%2F100%25_')).documents.map((d) => d.external_id)).toEqual([
      'faq/100%_remote',
    ]);
    expect((await list('?external_id_prefix=faq%2F1%25')).documents).toEqual([]);
  });

  it('shows an ACL-limited key only the documents shared with it, and each document with its ACL', async () => {
    const page = await list('', hrReader);
    expect(page.documents.map((d) => [d.external_id, d.acl])).toEqual([
      ['faq/parking', null],
      ['faq/100%_remote', null],
      ['policy/leave', ['group:hr']],
      ['policy/travel', null],
    ]);
  });

  it('refuses a bad status, limit or cursor with a 422 naming it', async () => {
    for (const [query, named] of [
      ['?status=done', 'status'],
      ['?limit=0', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?external_id_prefix=a%00b', 'external_id_prefix'],
    ]) {
      const answer = await route.gateway.call('GET', `/v1/collections/handbook/documents${query}`, {
        key: route.keys.admin,
      });
      expect(answer.status).toBe(422);
      expect(String(answer.body.detail)).toContain(named);
    }
  });
});

describe('GET /v1/collections/{name}', () => {
  it('counts documents by status and dates the last change, for what the caller may see', async () => {
    const all = await route.gateway.call('GET', '/v1/collections/handbook', { key: route.keys.admin });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({
      name: 'handbook',
      documents: { total: 5, queued: 4, failed: 1, ready: 0, processing: 0, deleting: 0 },
      chunks: 0,
    });
    expect(Date.parse(String(all.body.last_changed_at))).toBeGreaterThanOrEqual(
      Date.parse(String(all.body.created_at)),
    );
    const hr = await route.gateway.call('GET', '/v1/collections/handbook', { key: hrReader });
    expect(hr.body).toMatchObject({ documents: { total: 4, queued: 3, failed: 1 } });
  });

  it('answers 404 for a collection that does not exist', async () => {
    expect(
      (await route.gateway.call('GET', '/v1/collections/nothing', { key: route.keys.admin })).status,
    ).toBe(404);
  });
});

describe('POST /v1/collections', () => {
  it('creates a collection on the default model, and one on a named served model with its manifest hash', async () => {
    const plain = await route.createCollection('notes');
    expect(plain.status).toBe(201);
    expect(plain.body).toMatchObject({ name: 'notes', model: null, model_manifest_hash: null });
    expect(Date.parse(String(plain.body.created_at))).not.toBeNaN();

    const named = await route.gateway.call('POST', '/v1/collections', {
      key: route.keys.admin,
      body: { name: 'named', model: 'served-model' },
    });
    expect(named.status).toBe(201);
    expect(named.body).toMatchObject({
      name: 'named',
      model: 'served-model',
      model_manifest_hash: 'c'.repeat(64),
    });
    const { rows } = await route.gateway.db.pool.query(
      "SELECT embedding_model, embedding_manifest_hash FROM collections WHERE tenant_id = 'acme' AND name = 'named'",
    );
    expect(rows).toEqual([{ embedding_model: 'served-model', embedding_manifest_hash: 'c'.repeat(64) }]);
  });

  it('refuses a name taken (409), a bad name (422) and a model no service serves (404)', async () => {
    const again = await route.createCollection('handbook');
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already exists/);
    for (const name of ['', 'with space', 'x'.repeat(300)]) {
      expect(
        (await route.gateway.call('POST', '/v1/collections', { key: route.keys.admin, body: { name } }))
          .status,
      ).toBe(422);
    }
    expect(
      (
        await route.gateway.call('POST', '/v1/collections', {
          key: route.keys.admin,
          body: { name: 'h', extra: 1 },
        })
      ).status,
    ).toBe(422);
    const unknown = await route.gateway.call('POST', '/v1/collections', {
      key: route.keys.admin,
      body: { name: 'ghost', model: 'no-such-model' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/no-such-model does not exist; served models: served-model/);
  });

  it('security: a reader and an admin scoped to other collections cannot create one; another tenant creates its own', async () => {
    for (const { who, key, status } of limitedCallers(route.keys, {
      otherTenant: 201,
      otherCollection: 403,
    })) {
      const answer = await route.gateway.call('POST', '/v1/collections', { key, body: { name: 'intruded' } });
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    const { rows } = await route.gateway.db.pool.query(
      "SELECT tenant_id FROM collections WHERE name = 'intruded' ORDER BY tenant_id",
    );
    expect(rows).toEqual([{ tenant_id: 'globex' }]);
  });
});

describe('GET /v1/collections', () => {
  it("lists the tenant's collections the credential may use, and no other tenant's", async () => {
    const all = await route.gateway.call('GET', '/v1/collections', { key: route.keys.reader });
    expect(all.status).toBe(200);
    const names = (all.body.collections as { name: string }[]).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['handbook', 'notes', 'named']));
    expect(names).not.toContain('intruded');
    const scoped = await route.gateway.call('GET', '/v1/collections', { key: route.keys.otherCollection });
    expect(scoped.body.collections).toEqual([]);
  });
});

describe('DELETE /v1/collections/{name}', () => {
  it('marks the collection deleting, queues its deletion job, and hides it at once', async () => {
    expect((await route.createCollection('scratch')).status).toBe(201);
    const { rows } = await route.gateway.db.pool.query(
      "SELECT id FROM collections WHERE tenant_id = 'acme' AND name = 'scratch'",
    );
    const deleted = await route.gateway.call('DELETE', '/v1/collections/scratch', { key: route.keys.admin });
    expect(deleted.status).toBe(202);
    expect(deleted.body).toEqual({ name: 'scratch', status: 'deleting' });
    expect(await queuedJobs(route.gateway, 'ingest')).toContainEqual(
      expect.objectContaining({ type: 'delete-collection', tenantId: 'acme', collectionId: rows[0].id }),
    );
    expect(
      (await route.gateway.call('GET', '/v1/collections/scratch', { key: route.keys.admin })).status,
    ).toBe(404);
    // A retry (the first may have found the queue down) is accepted again rather than read as missing.
    expect(
      (await route.gateway.call('DELETE', '/v1/collections/scratch', { key: route.keys.admin })).status,
    ).toBe(202);
    // While it is being deleted, its name cannot be taken again yet.
    const retake = await route.createCollection('scratch');
    expect(retake.status).toBe(409);
    expect(retake.body.detail).toMatch(/still being deleted/);
  });

  it('answers 404 for a collection that does not exist', async () => {
    expect(
      (await route.gateway.call('DELETE', '/v1/collections/nothing', { key: route.keys.admin })).status,
    ).toBe(404);
  });

  it('security: a reader, another tenant and another collection scope cannot delete it; nothing is queued', async () => {
    const before = (await queuedJobs(route.gateway, 'ingest')).length;
    for (const { who, key, status } of limitedCallers(route.keys)) {
      const answer = await route.gateway.call('DELETE', '/v1/collections/handbook', { key });
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    const { rows } = await route.gateway.db.pool.query(
      "SELECT deleting FROM collections WHERE tenant_id = 'acme' AND name = 'handbook'",
    );
    expect(rows).toEqual([{ deleting: false }]);
    expect(await queuedJobs(route.gateway, 'ingest')).toHaveLength(before);
  });
});
