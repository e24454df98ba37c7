import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey, limitedCallers, useRouteTestGateway } from './route-test-fixture.js';

/**
 * The admin routes (tenants, API keys) on the real PostgreSQL and Redis: creating a tenant, minting, listing
 * and revoking keys, their refusals, and that API keys cannot grant more than the credential that creates
 * them: a key scoped to some collections, principals or a lifetime mints, lists and revokes only keys within
 * that scope. Every write is tried with a reader, another tenant's admin and an admin scoped to another
 * collection.
 */
const route = useRouteTestGateway({ beforeAll, afterAll });
const inOneDay = () => new Date(Date.now() + 24 * 3600 * 1000).toISOString();
const inTwoDays = () => new Date(Date.now() + 48 * 3600 * 1000).toISOString();
const inOneHour = () => new Date(Date.now() + 3600 * 1000).toISOString();

async function createKey(body: Record<string, unknown>, key?: string) {
  return route.gateway.call('POST', '/v1/api-keys', {
    body: { tenant: 'default', ...body },
    ...(key ? { key } : {}),
  });
}

async function issuedKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const created = await createKey(body);
  expect(created.status).toBe(201);
  return { id: created.body.id as string, key: created.body.key as string };
}

describe('POST /v1/api-keys within the caller scope', () => {
  it('a collection-scoped admin cannot mint a tenant-wide key or one for other collections', async () => {
    const scoped = await issuedKey({ role: 'admin', collections: ['alpha'] });
    const wide = await createKey({ role: 'admin' }, scoped.key);
    expect(wide.status).toBe(403);
    expect(wide.body.detail).toMatch(/must list its collections/);
    const other = await createKey({ role: 'reader', collections: ['alpha', 'bravo'] }, scoped.key);
    expect(other.status).toBe(403);
    expect(other.body.detail).toMatch(/collections it does not hold: bravo/);
    const narrower = await createKey({ role: 'editor', collections: ['alpha'] }, scoped.key);
    expect(narrower.status).toBe(201);
    expect(narrower.body).toMatchObject({ role: 'editor', collections: ['alpha'] });
  });

  it('an admin acting as ACL principals cannot mint an unrestricted key or one with other principals', async () => {
    const limited = await issuedKey({ role: 'admin', principals: ['group:staff', 'user:ann'] });
    expect((await createKey({ role: 'reader' }, limited.key)).status).toBe(403);
    const other = await createKey({ role: 'reader', principals: ['group:finance'] }, limited.key);
    expect(other.status).toBe(403);
    expect(other.body.detail).toMatch(/principals it does not hold: group:finance/);
    expect((await createKey({ role: 'reader', principals: ['group:staff'] }, limited.key)).status).toBe(201);
  });

  it('an expiring admin cannot mint a key that outlives it', async () => {
    const expiring = await issuedKey({ role: 'admin', expires_at: inOneDay() });
    const forever = await createKey({ role: 'reader' }, expiring.key);
    expect(forever.status).toBe(403);
    expect(forever.body.detail).toMatch(/must set expires_at/);
    const longer = await createKey({ role: 'reader', expires_at: inTwoDays() }, expiring.key);
    expect(longer.status).toBe(403);
    expect(longer.body.detail).toMatch(/own expiry/);
    expect((await createKey({ role: 'reader', expires_at: inOneHour() }, expiring.key)).status).toBe(201);
  });

  it('an editor cannot create keys at all, and the bootstrap admin is not limited', async () => {
    const editor = await issuedKey({ role: 'editor' });
    expect((await createKey({ role: 'reader' }, editor.key)).status).toBe(403);
    expect((await createKey({ role: 'admin' })).status).toBe(201);
  });
});

describe('GET and DELETE /v1/api-keys within the caller scope', () => {
  it('lists only keys within the caller scope and never names collections outside it', async () => {
    const scoped = await issuedKey({ role: 'admin', collections: ['listing-alpha'] });
    const hidden = await issuedKey({ role: 'reader', collections: ['listing-hidden'] });
    const tenantWide = await issuedKey({ role: 'reader' });
    const child = await createKey({ role: 'reader', collections: ['listing-alpha'] }, scoped.key);

    const listed = await route.gateway.call('GET', '/v1/api-keys', { key: scoped.key });
    expect(listed.status).toBe(200);
    const ids = (listed.body.keys as Array<{ id: string }>).map((k) => k.id);
    expect(ids).toContain(scoped.id);
    expect(ids).toContain(child.body.id);
    expect(ids).not.toContain(hidden.id);
    expect(ids).not.toContain(tenantWide.id);
    expect(JSON.stringify(listed.body)).not.toContain('listing-hidden');
    for (const key of listed.body.keys as Array<{ collections: string[] | null }>) {
      expect(key.collections).toEqual(['listing-alpha']);
    }

    const all = await route.gateway.call('GET', '/v1/api-keys');
    expect((all.body.keys as Array<{ id: string }>).map((k) => k.id)).toEqual(
      expect.arrayContaining([scoped.id, hidden.id, tenantWide.id]),
    );
  });

  it('revokes only keys within the caller scope; others read as missing', async () => {
    const scoped = await issuedKey({ role: 'admin', collections: ['revoke-alpha'] });
    const tenantWide = await issuedKey({ role: 'admin' });
    const child = await createKey({ role: 'reader', collections: ['revoke-alpha'] }, scoped.key);

    const refused = await route.gateway.call('DELETE', `/v1/api-keys/${tenantWide.id}`, { key: scoped.key });
    expect(refused.status).toBe(404);
    // The tenant-wide key still works.
    expect((await route.gateway.call('GET', '/v1/api-keys', { key: tenantWide.key })).status).toBe(200);

    const revoked = await route.gateway.call('DELETE', `/v1/api-keys/${child.body.id}`, { key: scoped.key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
  });
});

describe('POST /v1/tenants', () => {
  it('creates a tenant (bootstrap admin only), refuses it twice (409) and a bad id (422)', async () => {
    const created = await route.gateway.call('POST', '/v1/tenants', {
      body: { id: 'initech', name: 'Initech' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'initech', name: 'Initech' });
    expect((await route.gateway.call('POST', '/v1/tenants', { body: { id: 'initech' } })).status).toBe(409);
    for (const id of ['', 'Upper Case', 'x'.repeat(200)]) {
      expect((await route.gateway.call('POST', '/v1/tenants', { body: { id } })).status).toBe(422);
    }
    // The new tenant can be given keys at once.
    expect((await createKey({ tenant: 'initech', role: 'admin' })).status).toBe(201);
  });

  it('security: no tenant credential may create a tenant, not even an admin', async () => {
    const callers = [
      { who: 'tenant admin', key: route.keys.admin, status: 403 },
      ...limitedCallers(route.keys, { otherTenant: 403, otherCollection: 403 }),
    ];
    for (const { who, key, status } of callers) {
      const answer = await route.gateway.call('POST', '/v1/tenants', { key, body: { id: 'hooli' } });
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    const { rows } = await route.gateway.db.pool.query("SELECT id FROM tenants WHERE id = 'hooli'");
    expect(rows).toEqual([]);
  });
});

describe('POST, GET and DELETE /v1/api-keys', () => {
  it('shows a new key once, lists it without the key, and revokes it with effect on the next request', async () => {
    const created = await createKey({ tenant: 'acme', role: 'reader', name: 'search ui' }, route.keys.admin);
    expect(created.status).toBe(201);
    const key = String(created.body.key);
    expect(created.body).toMatchObject({
      name: 'search ui',
      tenant: 'acme',
      role: 'reader',
      collections: null,
      principals: null,
      expires_at: null,
      revoked_at: null,
    });
    expect(key.startsWith(`rag_${created.body.prefix}_`)).toBe(true);
    expect((await route.gateway.call('GET', '/v1/credential', { key })).status).toBe(200);

    const listed = await route.gateway.call('GET', '/v1/api-keys', { key: route.keys.admin });
    const entry = (listed.body.keys as Array<Record<string, unknown>>).find((k) => k.id === created.body.id);
    expect(entry).toMatchObject({ name: 'search ui', role: 'reader' });
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const revoked = await route.gateway.call('DELETE', `/v1/api-keys/${created.body.id}`, {
      key: route.keys.admin,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    expect((await route.gateway.call('GET', '/v1/credential', { key })).status).toBe(401);
  });

  it('refuses an unknown tenant (404), a past expiry or a bad role (422), and an unknown or malformed id (404)', async () => {
    expect((await createKey({ tenant: 'nobody', role: 'reader' })).status).toBe(404);
    const past = await createKey({ role: 'reader', expires_at: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(422);
    expect(past.body.detail).toMatch(/must be in the future/);
    expect((await createKey({ role: 'owner' })).status).toBe(422);
    expect((await route.gateway.call('GET', '/v1/api-keys?tenant=Not%20A%20Tenant')).status).toBe(422);
    expect((await route.gateway.call('DELETE', '/v1/api-keys/not-a-uuid')).status).toBe(404);
    expect(
      (await route.gateway.call('DELETE', '/v1/api-keys/00000000-0000-4000-8000-000000000000')).status,
    ).toBe(404);
  });

  it("security: a reader, another tenant's admin and another collection scope cannot mint, list or revoke acme's keys", async () => {
    const target = await issueKey(route.gateway, 'acme', { role: 'editor' });
    const mint = { reader: 403, otherTenant: 403, otherCollection: 403 };
    for (const { who, key, status } of limitedCallers(route.keys, mint)) {
      const minted = await createKey({ tenant: 'acme', role: 'editor' }, key);
      expect({ who, status: minted.status }).toEqual({ who, status });
    }
    for (const { who, key, status } of limitedCallers(route.keys, {
      otherTenant: 403,
      otherCollection: 200,
    })) {
      const listed = await route.gateway.call('GET', '/v1/api-keys?tenant=acme', { key });
      expect({ who, status: listed.status }).toEqual({ who, status });
      if (listed.status === 200) expect(JSON.stringify(listed.body)).not.toContain(target.id);
    }
    for (const { who, key, status } of limitedCallers(route.keys)) {
      const revoked = await route.gateway.call('DELETE', `/v1/api-keys/${target.id}`, { key });
      expect({ who, status: revoked.status }).toEqual({ who, status });
    }
    expect((await route.gateway.call('GET', '/v1/credential', { key: target.key })).status).toBe(200);
    const { rows } = await route.gateway.db.pool.query(
      "SELECT count(*)::int AS editors FROM api_keys WHERE tenant_id = 'acme' AND role = 'editor'",
    );
    // The fixture's editor and the target: nothing minted.
    expect(rows[0]).toEqual({ editors: 2 });
  });
});
