import { listAudit } from '@rag/db/audit-log-repository';
import type { ResolvedAddress } from '@rag/ingest-contract/webhook-target';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';
import { limitedCallers, type RouteKeys, routeKeys } from './route-test-fixture.js';

/**
 * The webhook routes on the real PostgreSQL: setting, reading and removing the tenant's webhook; a tenant
 * cannot point the system at an internal address, the signing secret is stored sealed, changes are audited
 * with the URL redacted, and odd input or concurrent changes never end in a 500. Every write (set, delete,
 * test event) is tried with a reader, an editor, another tenant's admin and an admin scoped to another
 * collection. (The test event's delivery: webhook-test-route.int.test.ts.)
 */
let gateway: TestGateway;
let keys: RouteKeys;
const secret = 'whsec-0123456789abcdef';
// A public name for the accepted cases; `localhost` and the literals go through the real checks.
const publicDns: Record<string, string[]> = { 'hooks.example.com': ['93.184.216.34'] };

beforeAll(async () => {
  gateway = await startTestGateway({
    webhookTargets: {
      allowedHosts: [],
      allowPrivate: false,
      resolve: async (hostname) => {
        const answers = publicDns[hostname];
        if (!answers) {
          const { lookup } = await import('node:dns/promises');
          return (await lookup(hostname, { all: true })).map(
            (a): ResolvedAddress => ({ address: a.address, family: a.family === 6 ? 6 : 4 }),
          );
        }
        return answers.map((address): ResolvedAddress => ({ address, family: 4 }));
      },
    },
    tenants: ['acme', 'globex'],
  });
  keys = await routeKeys(gateway, { tenant: 'acme', otherTenant: 'globex' });
});

afterAll(async () => {
  await gateway?.close();
});

const setWebhook = (url: string, withSecret = secret) =>
  gateway.call('POST', '/v1/webhook', { body: { url, secret: withSecret } });

describe('POST /v1/webhook refuses internal targets', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', /must use https/],
    ['https://127.0.0.1/hook', /127\.0\.0\.1 is a loopback address/],
    ['https://0x7f000001/hook', /loopback/],
    ['https://[::ffff:127.0.0.1]/hook', /loopback/],
    ['https://localhost:8443/hook', /localhost resolves to .*a loopback address/],
    ['https://169.254.169.254/latest/meta-data/', /cloud metadata/],
    ['https://10.0.0.5/hook', /private-network/],
    ['https://100.64.0.1/hook', /carrier-grade NAT/],
    ['https://[fe80::1]/hook', /link-local/],
    ['https://0.0.0.0/hook', /unspecified/],
  ])('%s answers 422', async (url, reason) => {
    const response = await setWebhook(url);
    expect(response.status).toBe(422);
    expect(response.body.detail).toMatch(reason);
    expect((await gateway.call('GET', '/v1/webhook')).status).toBe(404);
  });
});

describe('POST and DELETE /v1/webhook', () => {
  it('stores the secret sealed, and audits set and delete with the URL redacted', async () => {
    const set = await setWebhook('https://user:pw@hooks.example.com/in?token=query-secret');
    expect(set.status).toBe(200);
    expect(set.body).not.toHaveProperty('secret');

    const { rows } = await gateway.db.pool.query<{ secret: string }>('SELECT secret FROM webhooks');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret).not.toContain(secret);
    expect(rows[0]!.secret).toMatch(/^aesgcm1:test:/);

    expect((await gateway.call('DELETE', '/v1/webhook')).status).toBe(200);
    const entries = await listAudit(gateway.db.pool, 'default');
    const actions = entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['webhook.set', 'webhook.delete']));
    for (const entry of entries.filter((e) => e.action.startsWith('webhook.'))) {
      expect(entry.actor).toBe('bootstrap-admin');
      expect(entry.details.url).toBe('https://hooks.example.com/in');
    }
    expect(JSON.stringify(entries)).not.toContain('query-secret');
    expect(JSON.stringify(entries)).not.toContain('pw@');
  });

  it('stores characters PostgreSQL text cannot hold (NUL) without a 500', async () => {
    const inUrl = await setWebhook('https://hooks.example.com/a\u0000b');
    expect(inUrl.status).toBe(200);
    expect(inUrl.body.url).toBe('https://hooks.example.com/a%00b');
    const inSecret = await setWebhook('https://hooks.example.com/in', `${secret}\u0000`);
    expect(inSecret.status).toBe(200);
  });

  it('answers 200 or 404, never 500, to concurrent sets and deletes', async () => {
    const calls = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? setWebhook(`https://hooks.example.com/race/${i}`) : gateway.call('DELETE', '/v1/webhook'),
    );
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 404)).toBe(true);
    const final = await gateway.call('GET', '/v1/webhook');
    expect([200, 404]).toContain(final.status);
  });
});

describe('GET, POST and DELETE /v1/webhook for a tenant', () => {
  const acmeHook = 'https://hooks.example.com/acme';

  it('answers 404 while none is set; shows the set one without its secret; delete returns it and it is gone', async () => {
    expect((await gateway.call('GET', '/v1/webhook', { key: keys.admin })).status).toBe(404);
    expect((await gateway.call('DELETE', '/v1/webhook', { key: keys.admin })).status).toBe(404);
    const set = await gateway.call('POST', '/v1/webhook', {
      key: keys.admin,
      body: { url: acmeHook, secret },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ url: acmeHook, updated_at: expect.any(String) });
    const shown = await gateway.call('GET', '/v1/webhook', { key: keys.admin });
    expect(shown.body).toEqual(set.body);
    const removed = await gateway.call('DELETE', '/v1/webhook', { key: keys.admin });
    expect(removed.status).toBe(200);
    expect(removed.body.url).toBe(acmeHook);
    expect((await gateway.call('GET', '/v1/webhook', { key: keys.admin })).status).toBe(404);
  });

  it('refuses a short secret, a missing one, a non-http URL and unknown fields (422)', async () => {
    for (const body of [
      { url: acmeHook, secret: 'short' },
      { url: acmeHook },
      { url: 'ftp://hooks.example.com/in', secret },
      { url: acmeHook, secret, events: ['all'] },
    ]) {
      const answer = await gateway.call('POST', '/v1/webhook', { key: keys.admin, body });
      expect({ body, status: answer.status }).toEqual({ body, status: 422 });
    }
  });

  it("security: a reader, an editor and a collection-scoped admin cannot set, delete or test acme's webhook; another tenant's admin reaches only its own", async () => {
    const set = await gateway.call('POST', '/v1/webhook', {
      key: keys.admin,
      body: { url: acmeHook, secret },
    });
    expect(set.status).toBe(200);
    const callers = [
      ...limitedCallers(keys, { otherTenant: 200, otherCollection: 403 }),
      { who: 'editor', key: keys.editor, status: 403 },
    ];
    for (const { who, key, status } of callers) {
      const answer = await gateway.call('POST', '/v1/webhook', {
        key,
        body: { url: 'https://hooks.example.com/taken', secret },
      });
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    // Another tenant's admin deletes its own webhook (which it just set), never acme's; the others may not
    // send acme's receiver a test event either (another tenant's would go out to its own receiver).
    for (const { who, key, status } of callers) {
      if (status !== 200) {
        const test = await gateway.call('POST', '/v1/webhook/test', { key });
        expect({ who, status: test.status }).toEqual({ who, status });
      }
      const deleted = await gateway.call('DELETE', '/v1/webhook', { key });
      expect({ who, status: deleted.status }).toEqual({ who, status });
    }
    const acme = await gateway.call('GET', '/v1/webhook', { key: keys.admin });
    expect(acme.body).toEqual(set.body);
    expect((await gateway.call('GET', '/v1/webhook', { key: keys.otherTenant })).status).toBe(404);
  });
});
