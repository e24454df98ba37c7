import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';
import { issueKey } from './route-test-fixture.js';

/**
 * GET /v1/credential on the real PostgreSQL and Redis: the calling credential as the gateway resolved it.
 * The route only reads the caller's own credential (no write path): its security cases are that a
 * credential sees itself and nothing of another, and that one no longer valid is refused.
 */
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({ tenants: ['acme', 'globex'] });
});

afterAll(async () => {
  await gateway?.close();
});

describe('GET /v1/credential', () => {
  it('describes a scoped reader key: tenant, role, collections, principals, expiry', async () => {
    const created = await gateway.call('POST', '/v1/api-keys', {
      body: {
        tenant: 'acme',
        role: 'reader',
        collections: ['handbook'],
        principals: ['group:hr'],
        expires_at: '2099-01-01T00:00:00.000Z',
      },
    });
    const answer = await gateway.call('GET', '/v1/credential', { key: String(created.body.key) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      tenant: 'acme',
      role: 'reader',
      bootstrap: false,
      collections: ['handbook'],
      principals: ['group:hr'],
      key_id: created.body.id,
      subject: `key:${created.body.id}`,
      expires_at: '2099-01-01T00:00:00.000Z',
    });
  });

  it('names the bootstrap admin as such', async () => {
    const answer = await gateway.call('GET', '/v1/credential');
    expect(answer.body).toMatchObject({
      role: 'admin',
      bootstrap: true,
      collections: null,
      principals: null,
    });
  });
});

describe('GET /v1/credential: errors and isolation', () => {
  it('answers 401 without a credential, for an unknown key, and for an expired one', async () => {
    expect((await gateway.call('GET', '/v1/credential', { key: null })).status).toBe(401);
    expect((await gateway.call('GET', '/v1/credential', { key: 'rag_unknown_key' })).status).toBe(401);
    const expiring = await issueKey(gateway, 'acme', {
      role: 'reader',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    // Expired since: as if its hour had passed before its first use.
    await gateway.db.pool.query(
      "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1",
      [expiring.id],
    );
    const answer = await gateway.call('GET', '/v1/credential', { key: expiring.key });
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('unauthenticated');
  });

  it("describes each tenant's key as its own, never another's", async () => {
    const acme = await issueKey(gateway, 'acme', { role: 'admin', collections: ['handbook'] });
    const globex = await issueKey(gateway, 'globex', { role: 'editor' });
    const seen = await Promise.all(
      [acme, globex].map(async ({ key }) => (await gateway.call('GET', '/v1/credential', { key })).body),
    );
    expect(seen.map((c) => [c.tenant, c.role, c.collections, c.key_id])).toEqual([
      ['acme', 'admin', ['handbook'], acme.id],
      ['globex', 'editor', null, globex.id],
    ]);
  });
});
