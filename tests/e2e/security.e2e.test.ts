import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * The gateway's security promises through its public API: every route refuses a missing credential, a
 * too-small role and another tenant's objects; revocation and expiry act at once; per-document ACLs hold
 * through search and read for API keys and JWTs alike.
 */
const jwtSecret = randomBytes(32).toString('hex');
const issuer = 'https://idp.example.test';
const audience = 'rag-system';

let stack: Stack;
let modelDir: string;
let call: Stack['call'];
const keys: Record<string, string> = {};
const docs: Record<string, string> = {};

async function jwt(claims: Record<string, unknown>, options: { expiresIn?: string; audience?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(issuer)
    .setAudience(options.audience ?? audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(jwtSecret));
}

async function newKey(tenant: string, role: string, extra: Json = {}): Promise<string> {
  const response = await call('POST', '/v1/api-keys', { body: { tenant, role, ...extra } });
  expect(response.status).toBe(201);
  return response.body.key;
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    gatewayEnv: {
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
      JWT_ALGORITHMS: 'HS256',
      JWT_SECRET: jwtSecret,
      RATE_LIMIT_PER_CREDENTIAL: '100000',
      RATE_LIMIT_PER_ADDRESS: '100000',
      CORS_ORIGINS: 'https://app.example.test',
    },
  });
  call = stack.call;
  for (const tenant of ['acme', 'globex']) {
    expect((await call('POST', '/v1/tenants', { body: { id: tenant } })).status).toBe(201);
    keys[`${tenant}:admin`] = await newKey(tenant, 'admin');
    expect(
      (await call('POST', '/v1/collections', { key: keys[`${tenant}:admin`]!, body: { name: 'kb' } })).status,
    ).toBe(201);
  }
  keys['acme:editor'] = await newKey('acme', 'editor');
  keys['acme:reader'] = await newKey('acme', 'reader');
  keys['acme:bob'] = await newKey('acme', 'reader', { principals: ['user:bob'] });
  const texts = {
    public: { text: 'The cafeteria serves lunch from noon until two in the afternoon.' },
    finance: { text: 'The cafeteria budget for next year grows by ten percent.', acl: ['group:finance'] },
    alice: { text: 'Alice asked the cafeteria for a vegetarian lunch menu.', acl: ['user:alice'] },
    // Principals are opaque: identity providers put `|`, spaces and `&` in subjects and group names.
    auth0: { text: 'The cafeteria lunch menu changes every Monday.', acl: ['user:auth0|abc'] },
    rnd: { text: 'The cafeteria hosts the lunch budget review.', acl: ['group:R&D team'] },
    rndPrefix: { text: 'The cafeteria lunch menu lists prices.', acl: ['group:R&D'] },
  };
  for (const [name, body] of Object.entries(texts)) {
    const answer = await call('POST', '/v1/collections/kb/documents', { key: keys['acme:editor']!, body });
    docs[name] = answer.body.id;
  }
  for (const id of Object.values(docs)) await stack.waitForStatus(id, keys['acme:admin'], ['ready']);
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('every route of the OpenAPI description', () => {
  const lower: Record<string, string | undefined> = {
    'bootstrap admin': 'acme:admin',
    admin: 'acme:editor',
    editor: 'acme:reader',
    reader: undefined,
  };

  it('refuses no credential (401), a smaller role (403) and objects of another tenant (404)', async () => {
    const document = (await (await fetch(`${stack.services.at(-1)!.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { 'x-required-role': string }>>;
    };
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      const path = template.replace('{name}', 'kb').replace('{id}', docs.public!);
      for (const [method, operation] of Object.entries(operations)) {
        const label = `${method} ${template}`;
        const body = method === 'post' ? {} : undefined;
        const anonymous = await call(method.toUpperCase(), path, { key: null, ...(body ? { body } : {}) });
        expect(anonymous.status, label).toBe(401);
        const smaller = lower[operation['x-required-role']];
        if (smaller) {
          const denied = await call(method.toUpperCase(), path, {
            key: keys[smaller]!,
            ...(body ? { body } : {}),
          });
          expect(denied.status, label).toBe(403);
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(11);
    // Another tenant's objects read as missing, never as forbidden.
    const globex = keys['globex:admin']!;
    expect((await call('GET', `/v1/documents/${docs.public}`, { key: globex })).status).toBe(404);
    expect((await call('DELETE', `/v1/documents/${docs.public}`, { key: globex })).status).toBe(404);
    const acmeKeys = await call('GET', '/v1/api-keys', { key: keys['acme:admin']! });
    const acmeKeyId = acmeKeys.body.keys[0].id;
    expect((await call('DELETE', `/v1/api-keys/${acmeKeyId}`, { key: globex })).status).toBe(404);
    expect((await call('GET', '/v1/api-keys?tenant=acme', { key: globex })).status).toBe(403);
    const search = await call('POST', '/v1/search', {
      key: globex,
      body: { collection: 'kb', query: 'cafeteria lunch' },
    });
    expect(search.body.results).toEqual([]);
    expect((await call('GET', `/v1/documents/${docs.public}`, { key: keys['acme:reader']! })).status).toBe(
      200,
    );
  });
});

describe('browser-facing headers', () => {
  it('sends security headers and allows CORS only for the configured origin', async () => {
    const gateway = stack.services.at(-1)!.url;
    const preflight = (origin: string) =>
      fetch(`${gateway}/v1/search`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
    const allowed = await preflight('https://app.example.test');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(
      (await preflight('https://evil.example.test')).headers.get('access-control-allow-origin'),
    ).toBeNull();
    const response = await fetch(`${gateway}/v1/collections`, {
      headers: { authorization: `Bearer ${keys['acme:reader']}` },
    });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('ratelimit-limit')).toBe('100000');
  });
});

describe('keys', () => {
  it('stop working the moment they are revoked', async () => {
    const key = await newKey('acme', 'reader');
    expect((await call('GET', '/v1/collections', { key })).status).toBe(200);
    const listed = await call('GET', '/v1/api-keys?tenant=acme');
    const id = listed.body.keys.find((k: Json) => key.startsWith(`rag_${k.prefix}_`)).id;
    expect((await call('DELETE', `/v1/api-keys/${id}`)).status).toBe(200);
    expect((await call('GET', '/v1/collections', { key })).status).toBe(401);
    const { rows } = await stack.db.query('SELECT action FROM audit_log WHERE target = $1 ORDER BY id', [id]);
    expect(rows.map((r) => r.action)).toEqual(['api_key.create', 'api_key.revoke']);
  });

  it('stop working when they expire', async () => {
    const key = await newKey('acme', 'reader', { expires_at: new Date(Date.now() + 3000).toISOString() });
    expect((await call('GET', '/v1/collections', { key })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect((await call('GET', '/v1/collections', { key })).status).toBe(401);
  });
});

describe('per-document ACL', () => {
  const visible = async (key: string) => {
    const answer = await call('POST', '/v1/search', {
      key,
      body: { collection: 'kb', query: 'cafeteria lunch budget menu', top_k: 10 },
    });
    expect(answer.status).toBe(200);
    return new Set(answer.body.results.map((r: Json) => r.document_id));
  };

  it('shows an API key with principals only the documents shared with them', async () => {
    expect(await visible(keys['acme:bob']!)).toEqual(new Set([docs.public]));
    expect((await call('GET', `/v1/documents/${docs.finance}`, { key: keys['acme:bob']! })).status).toBe(404);
    expect(await visible(keys['acme:reader']!)).toEqual(new Set(Object.values(docs)));
  });

  it('shows no BM25 scores to callers with principals: the statistics count chunks hidden from them', async () => {
    const bm25 = async (key: string) => {
      const answer = await call('POST', '/v1/search', {
        key,
        body: { collection: 'kb', query: 'cafeteria budget', top_k: 10, mode: 'bm25' },
      });
      expect(answer.status).toBe(200);
      return answer.body.results as Json[];
    };
    const restricted = await bm25(keys['acme:bob']!);
    expect(restricted.map((r) => r.document_id)).toEqual([docs.public]);
    expect(restricted[0]!.scores.bm25).toBeUndefined();
    expect(restricted[0]!.score).toBeCloseTo(1 / 61, 9);
    const backend = await bm25(keys['acme:reader']!);
    expect(backend.every((r) => typeof r.scores.bm25 === 'number' && r.score === r.scores.bm25)).toBe(true);
  });

  it('maps JWT subjects and groups to principals', async () => {
    const carol = await jwt({ sub: 'carol', tenant: 'acme', roles: ['reader'], groups: ['finance'] });
    expect(await visible(carol)).toEqual(new Set([docs.public, docs.finance]));
    expect((await call('GET', `/v1/documents/${docs.finance}`, { key: carol })).status).toBe(200);
    expect((await call('GET', `/v1/documents/${docs.alice}`, { key: carol })).status).toBe(404);
    const alice = await jwt({ sub: 'alice', tenant: 'acme', roles: 'reader' });
    expect(await visible(alice)).toEqual(new Set([docs.public, docs.alice]));
  });

  it('matches subjects and groups with any characters exactly', async () => {
    const user = await jwt({ sub: 'auth0|abc', tenant: 'acme', roles: ['reader'], groups: ['R&D team'] });
    expect(await visible(user)).toEqual(new Set([docs.public, docs.auth0, docs.rnd]));
    expect((await call('GET', `/v1/documents/${docs.rnd}`, { key: user })).status).toBe(200);
    expect((await call('GET', `/v1/documents/${docs.rndPrefix}`, { key: user })).status).toBe(404);
    const hostile = await jwt({ sub: '"]) || true || (["', tenant: 'acme', roles: ['reader'] });
    expect(await visible(hostile)).toEqual(new Set([docs.public]));
  });

  it('refuses JWTs that are expired, for another audience, or whose role is too small', async () => {
    const expired = await jwt({ sub: 'carol', tenant: 'acme', roles: ['reader'] }, { expiresIn: '-5m' });
    expect((await call('GET', '/v1/collections', { key: expired })).status).toBe(401);
    const elsewhere = await jwt({ sub: 'carol', tenant: 'acme', roles: ['reader'] }, { audience: 'other' });
    expect((await call('GET', '/v1/collections', { key: elsewhere })).status).toBe(401);
    const reader = await jwt({ sub: 'carol', tenant: 'acme', roles: ['reader'] });
    expect((await call('POST', '/v1/collections', { key: reader, body: { name: 'x' } })).status).toBe(403);
    const otherTenant = await jwt({ sub: 'mallory', tenant: 'globex', roles: ['admin'] });
    expect((await call('GET', `/v1/documents/${docs.public}`, { key: otherTenant })).status).toBe(404);
  });
});
