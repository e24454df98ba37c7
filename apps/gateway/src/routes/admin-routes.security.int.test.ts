import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

/**
 * API keys cannot grant more than the credential that creates them, on the real PostgreSQL: a key scoped
 * to some collections, principals or a lifetime mints, lists and revokes only keys within that scope.
 */
let gateway: TestGateway;
const inOneDay = () => new Date(Date.now() + 24 * 3600 * 1000).toISOString();
const inTwoDays = () => new Date(Date.now() + 48 * 3600 * 1000).toISOString();
const inOneHour = () => new Date(Date.now() + 3600 * 1000).toISOString();

async function createKey(body: Record<string, unknown>, key?: string) {
  return gateway.call('POST', '/v1/api-keys', {
    body: { tenant: 'default', ...body },
    ...(key ? { key } : {}),
  });
}

async function issuedKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const created = await createKey(body);
  expect(created.status).toBe(201);
  return { id: created.body.id as string, key: created.body.key as string };
}

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway?.close();
});

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

    const listed = await gateway.call('GET', '/v1/api-keys', { key: scoped.key });
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

    const all = await gateway.call('GET', '/v1/api-keys');
    expect((all.body.keys as Array<{ id: string }>).map((k) => k.id)).toEqual(
      expect.arrayContaining([scoped.id, hidden.id, tenantWide.id]),
    );
  });

  it('revokes only keys within the caller scope; others read as missing', async () => {
    const scoped = await issuedKey({ role: 'admin', collections: ['revoke-alpha'] });
    const tenantWide = await issuedKey({ role: 'admin' });
    const child = await createKey({ role: 'reader', collections: ['revoke-alpha'] }, scoped.key);

    const refused = await gateway.call('DELETE', `/v1/api-keys/${tenantWide.id}`, { key: scoped.key });
    expect(refused.status).toBe(404);
    // The tenant-wide key still works.
    expect((await gateway.call('GET', '/v1/api-keys', { key: tenantWide.key })).status).toBe(200);

    const revoked = await gateway.call('DELETE', `/v1/api-keys/${child.body.id}`, { key: scoped.key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
  });
});
