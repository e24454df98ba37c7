import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicRoutes, type RouteDescription } from '../route-table.js';
import { startTestGateway, type TestGateway } from '../test-gateway.js';
import { issueKey } from './route-test-fixture.js';

/**
 * The guards of every public route, driven by the route table: no credential, a revoked key, a role one
 * below the route's, and (for routes that name a collection or a document) a credential of another tenant
 * or another collection scope, which must find nothing. A route added to the table without an entry in
 * `requests` fails the first test, so no route lands without its security cases.
 */

let gateway: TestGateway;
const keys: Record<string, string> = {};
let acmeDocument: string;

type Sample = { path: string; body?: unknown };

/** A request of each route aimed at acme's objects; the guards must answer before any handler work. */
const requests: Record<string, () => Sample> = {
  'post /v1/tenants': () => ({ path: '/v1/tenants', body: { id: 'initech' } }),
  'post /v1/api-keys': () => ({ path: '/v1/api-keys', body: { tenant: 'acme', role: 'reader' } }),
  'get /v1/api-keys': () => ({ path: '/v1/api-keys' }),
  'delete /v1/api-keys/{id}': () => ({ path: `/v1/api-keys/${keys.acmeReaderId}` }),
  'get /v1/credential': () => ({ path: '/v1/credential' }),
  'post /v1/collections': () => ({ path: '/v1/collections', body: { name: 'fresh' } }),
  'get /v1/collections': () => ({ path: '/v1/collections' }),
  'get /v1/collections/{name}': () => ({ path: '/v1/collections/handbook' }),
  'get /v1/collections/{name}/documents': () => ({ path: '/v1/collections/handbook/documents' }),
  'delete /v1/collections/{name}': () => ({ path: '/v1/collections/handbook' }),
  'post /v1/collections/{name}/reindex': () => ({
    path: '/v1/collections/handbook/reindex',
    body: { model: 'any-model' },
  }),
  'get /v1/collections/{name}/reindex': () => ({ path: '/v1/collections/handbook/reindex' }),
  'delete /v1/collections/{name}/reindex': () => ({ path: '/v1/collections/handbook/reindex' }),
  'post /v1/collections/{name}/documents': () => ({
    path: '/v1/collections/handbook/documents',
    body: { external_id: 'intruder', text: 'Written by someone who may not.' },
  }),
  'post /v1/collections/{name}/documents/batch': () => ({
    path: '/v1/collections/handbook/documents/batch',
    body: { documents: [{ text: 'Written by someone who may not.' }] },
  }),
  'get /v1/documents/{id}': () => ({ path: `/v1/documents/${acmeDocument}` }),
  'get /v1/documents/{id}/chunks': () => ({ path: `/v1/documents/${acmeDocument}/chunks` }),
  'patch /v1/documents/{id}': () => ({
    path: `/v1/documents/${acmeDocument}`,
    body: { title: 'Taken over' },
  }),
  'delete /v1/documents/{id}': () => ({ path: `/v1/documents/${acmeDocument}` }),
  'post /v1/search': () => ({ path: '/v1/search', body: { collection: 'handbook', query: 'travel' } }),
  'post /v1/webhook': () => ({
    path: '/v1/webhook',
    body: { url: 'https://hooks.example.com/rag', secret: 's'.repeat(32) },
  }),
  'get /v1/webhook': () => ({ path: '/v1/webhook' }),
  'post /v1/webhook/test': () => ({ path: '/v1/webhook/test' }),
  'get /v1/models': () => ({ path: '/v1/models' }),
  'post /v1/embeddings': () => ({
    path: '/v1/embeddings',
    body: { model: 'any-model', input: 'Book travel through the portal.' },
  }),
  'delete /v1/webhook': () => ({ path: '/v1/webhook' }),
};

const routeKey = (route: RouteDescription) => `${route.method} ${route.path}`;
const below: Record<RouteDescription['role'], string | null> = {
  'bootstrap admin': 'acmeAdmin',
  admin: 'acmeEditor',
  editor: 'acmeReader',
  reader: null,
};

beforeAll(async () => {
  gateway = await startTestGateway({ tenants: ['acme', 'globex'] });
  const create = (tenant: string, grant: Record<string, unknown>) => issueKey(gateway, tenant, grant);
  keys.acmeAdmin = (await create('acme', { role: 'admin' })).key;
  keys.acmeEditor = (await create('acme', { role: 'editor' })).key;
  const reader = await create('acme', { role: 'reader' });
  keys.acmeReader = reader.key;
  keys.acmeReaderId = reader.id;
  keys.globexAdmin = (await create('globex', { role: 'admin' })).key;
  keys.acmeOtherScopeAdmin = (await create('acme', { role: 'admin', collections: ['other'] })).key;
  const revoked = await create('acme', { role: 'admin' });
  expect((await gateway.call('DELETE', `/v1/api-keys/${revoked.id}`)).status).toBe(200);
  keys.revoked = revoked.key;
  expect(
    (await gateway.call('POST', '/v1/collections', { key: keys.acmeAdmin, body: { name: 'handbook' } }))
      .status,
  ).toBe(201);
  const document = await gateway.call('POST', '/v1/collections/handbook/documents', {
    key: keys.acmeAdmin,
    body: { external_id: 'travel', text: 'Book travel through the portal.' },
  });
  expect(document.status).toBe(202);
  acmeDocument = String(document.body.id);
});

afterAll(async () => {
  await gateway?.close();
});

describe('route guards, from the route table', () => {
  it('every public route has its security cases', () => {
    expect(publicRoutes.map(routeKey).filter((key) => !(key in requests))).toEqual([]);
  });

  for (const route of publicRoutes) {
    const method = route.method.toUpperCase();
    const sample = () => requests[routeKey(route)]!();

    // The OpenAI-compatible routes refuse in OpenAI's shape, which OpenAI clients read; the others in problem+json.
    const refusal = (code: string) =>
      'errorBody' in route && route.errorBody === 'openai'
        ? { error: expect.objectContaining({ code, message: expect.any(String) }) }
        : { code: code === 'invalid_api_key' ? 'unauthenticated' : 'forbidden' };

    it(`${method} ${route.path}: 401 without a credential or with a revoked key`, async () => {
      const { path, body } = sample();
      for (const key of [null, keys.revoked!]) {
        const answer = await gateway.call(method, path, { key, body });
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject(refusal('invalid_api_key'));
      }
    });

    const lower = below[route.role];
    if (lower !== null) {
      it(`${method} ${route.path}: 403 for the role below ${route.role}`, async () => {
        const { path, body } = sample();
        const answer = await gateway.call(method, path, { key: keys[lower]!, body });
        expect(answer.status).toBe(403);
        expect(answer.body).toMatchObject(refusal('insufficient_permissions'));
      });
    }

    // A tenant's own object, asked for by another tenant or outside a collection scope, does not exist.
    if (/\{(id|name)\}/.test(route.path) || route.path === '/v1/search') {
      it(`${method} ${route.path}: another tenant and another collection scope find nothing`, async () => {
        const { path, body } = sample();
        for (const key of [keys.globexAdmin!, keys.acmeOtherScopeAdmin!]) {
          const answer = await gateway.call(method, path, { key, body });
          expect({ key: key.slice(0, 12), status: answer.status }).toEqual({
            key: key.slice(0, 12),
            status: 404,
          });
        }
      });
    }
  }

  it("a scoped or principal-limited admin cannot point the tenant's webhook anywhere", async () => {
    const limited = await gateway.call('POST', '/v1/api-keys', {
      body: { tenant: 'acme', role: 'admin', principals: ['group:it'] },
    });
    for (const key of [keys.acmeOtherScopeAdmin!, String(limited.body.key)]) {
      const { path, body } = requests['post /v1/webhook']!();
      expect((await gateway.call('POST', path, { key, body })).status).toBe(403);
      expect((await gateway.call('DELETE', path, { key })).status).toBe(403);
    }
  });

  it('nothing the refused calls asked for happened', async () => {
    const { rows } = await gateway.db.pool.query(
      `SELECT (SELECT count(*)::int FROM documents) AS documents,
              (SELECT count(*)::int FROM collections WHERE name = 'handbook') AS handbook,
              (SELECT title FROM documents WHERE id = $1) AS title,
              (SELECT revoked_at IS NULL FROM api_keys WHERE id = $2) AS reader_active`,
      [acmeDocument, keys.acmeReaderId],
    );
    expect(rows[0]).toEqual({ documents: 1, handbook: 1, title: null, reader_active: true });
  });
});
