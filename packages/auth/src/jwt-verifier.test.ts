import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError } from '@rag/contracts/app-error';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtOptions } from './jwt-config.js';
import { createJwtVerifier } from './jwt-verifier.js';

const issuer = 'https://idp.example.com/realms/rag';
const audience = 'rag-gateway';
const secret = 'a-shared-secret-that-is-at-least-32-bytes-long';
const now = () => Math.floor(Date.now() / 1000);

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey | Uint8Array;
  publicJwk?: JWK;
}

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey & { publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const baseClaims: JWTPayload = { sub: 'alice', tenant: 'acme', roles: ['reader'] };

interface TokenShape {
  claims?: JWTPayload;
  iss?: string;
  aud?: string;
  /** Seconds from now; null leaves exp out. */
  expIn?: number | null;
  nbfIn?: number;
}

async function sign(key: SigningKey, shape: TokenShape = {}): Promise<string> {
  const jwt = new SignJWT(shape.claims ?? baseClaims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(shape.iss ?? issuer)
    .setAudience(shape.aud ?? audience)
    .setIssuedAt();
  const expIn = shape.expIn === undefined ? 300 : shape.expIn;
  if (expIn !== null) jwt.setExpirationTime(now() + expIn);
  if (shape.nbfIn !== undefined) jwt.setNotBefore(now() + shape.nbfIn);
  return jwt.sign(key.privateKey);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Resolves to the error code and message, or 'ok' with the principal. */
async function outcome(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: 'ok', message: '' };
  } catch (error) {
    return isAppError(error)
      ? { code: error.code, message: error.message }
      : { code: 'other', message: String(error) };
  }
}

let rsa: Awaited<ReturnType<typeof signingKey>>;
let ec: Awaited<ReturnType<typeof signingKey>>;
let stranger: Awaited<ReturnType<typeof signingKey>>;
let staticOptions: JwtOptions;
const hs: SigningKey = { alg: 'HS256', kid: 'shared', privateKey: new TextEncoder().encode(secret) };

beforeAll(async () => {
  rsa = await signingKey('RS256', 'rsa-1');
  ec = await signingKey('ES256', 'ec-1');
  stranger = await signingKey('RS256', 'not-published');
  staticOptions = {
    issuer,
    audience,
    algorithms: ['RS256', 'ES256'],
    keys: { jwks: { keys: [rsa.publicJwk, ec.publicJwk] } },
  };
});

describe('createJwtVerifier: valid tokens', () => {
  it('maps an RS256 token to a principal with the user and group principals', async () => {
    const verify = createJwtVerifier(staticOptions);
    const token = await sign(rsa, {
      claims: {
        sub: 'alice',
        tenant: 'acme',
        roles: ['reader', 'admin', 'editor'],
        groups: ['finance', 'staff'],
      },
    });
    await expect(verify(token)).resolves.toEqual({
      tenantId: 'acme',
      role: 'admin',
      collections: null,
      system: false,
      keyId: null,
      subject: 'alice',
      principals: ['user:alice', 'group:finance', 'group:staff'],
      // Keys it creates may not outlive the token.
      expiresAt: expect.any(Date),
    });
  });

  it('maps an ES256 token with a single role string and a collections list', async () => {
    const verify = createJwtVerifier(staticOptions);
    const token = await sign(ec, {
      claims: { sub: 'bob', tenant: 'globex', roles: 'editor', collections: ['docs'] },
    });
    await expect(verify(token)).resolves.toMatchObject({
      tenantId: 'globex',
      role: 'editor',
      collections: ['docs'],
      subject: 'bob',
      principals: ['user:bob'],
    });
  });

  it('maps an HS256 token signed with the shared secret', async () => {
    const verify = createJwtVerifier({ issuer, audience, algorithms: ['HS256'], keys: { secret } });
    await expect(verify(await sign(hs))).resolves.toMatchObject({ tenantId: 'acme', role: 'reader' });
  });

  it('verifies against a single public key given as PEM', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const verify = createJwtVerifier({
      issuer,
      audience,
      algorithms: ['RS256'],
      keys: { publicKeyPem: await exportSPKI(publicKey) },
    });
    await expect(verify(await sign({ alg: 'RS256', kid: 'pem', privateKey }))).resolves.toMatchObject({
      subject: 'alice',
    });
  });

  it('reads renamed and nested claims (Keycloak realm_access.roles, namespaced names)', async () => {
    const verify = createJwtVerifier({
      ...staticOptions,
      claims: { tenant: 'https://rag.example.com/tenant', roles: 'realm_access.roles', groups: 'memberOf' },
    });
    const token = await sign(rsa, {
      claims: {
        sub: 'carol',
        'https://rag.example.com/tenant': 'initech',
        realm_access: { roles: ['offline_access', 'editor'] },
        memberOf: 'ops',
      },
    });
    await expect(verify(token)).resolves.toMatchObject({
      tenantId: 'initech',
      role: 'editor',
      principals: ['user:carol', 'group:ops'],
    });
  });

  it('accepts tokens just inside the clock tolerance', async () => {
    const verify = createJwtVerifier({ ...staticOptions, clockToleranceSec: 30 });
    expect((await outcome(verify(await sign(rsa, { expIn: -10 })))).code).toBe('ok');
    expect((await outcome(verify(await sign(rsa, { nbfIn: 10 })))).code).toBe('ok');
  });
});

describe('createJwtVerifier: attacks and bad tokens are unauthenticated', () => {
  it('rejects an unsigned alg:none token', async () => {
    const verify = createJwtVerifier(staticOptions);
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...baseClaims, iss: issuer, aud: audience, exp: now() + 300 })}.`;
    expect(await outcome(verify(token))).toEqual({
      code: 'unauthenticated',
      message: 'Invalid bearer token: algorithm not allowed',
    });
  });

  it('rejects an HS256 token signed with the RSA public key as the secret (algorithm confusion)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const verify = createJwtVerifier({
      issuer,
      audience,
      algorithms: ['RS256'],
      keys: { publicKeyPem: pem },
    });
    expect((await outcome(verify(await sign({ alg: 'RS256', kid: 'k', privateKey })))).code).toBe('ok');

    const forged = await sign({ alg: 'HS256', kid: 'k', privateKey: new TextEncoder().encode(pem) });
    expect(await outcome(verify(forged))).toEqual({
      code: 'unauthenticated',
      message: 'Invalid bearer token: algorithm not allowed',
    });
  });

  it.each([
    ['expired beyond the tolerance', { expIn: -60 }, 'expired'],
    ['not valid until beyond the tolerance', { nbfIn: 60 }, 'not yet valid'],
    ['issued by another issuer', { iss: 'https://evil.example.com' }, 'wrong issuer'],
    ['issued for another audience', { aud: 'someone-else' }, 'wrong audience'],
    ['without exp', { expIn: null }, 'missing exp claim'],
  ] satisfies [string, TokenShape, string][])('rejects a token %s', async (_name, shape, reason) => {
    const verify = createJwtVerifier({ ...staticOptions, clockToleranceSec: 30 });
    expect(await outcome(verify(await sign(rsa, shape)))).toEqual({
      code: 'unauthenticated',
      message: `Invalid bearer token: ${reason}`,
    });
  });

  it('rejects a tampered payload that keeps the original signature', async () => {
    const verify = createJwtVerifier(staticOptions);
    const [header, , signature] = (await sign(rsa)).split('.');
    const tampered = `${header}.${b64url({ ...baseClaims, roles: ['admin'], iss: issuer, aud: audience, exp: now() + 300 })}.${signature}`;
    expect(await outcome(verify(tampered))).toEqual({
      code: 'unauthenticated',
      message: 'Invalid bearer token: bad signature',
    });
  });

  it('rejects a token signed by a key that is not in the key set', async () => {
    const verify = createJwtVerifier(staticOptions);
    expect(await outcome(verify(await sign(stranger)))).toEqual({
      code: 'unauthenticated',
      message: 'Invalid bearer token: unknown key',
    });
  });

  it('rejects an HS256 token signed with another secret', async () => {
    const verify = createJwtVerifier({ issuer, audience, algorithms: ['HS256'], keys: { secret } });
    const other = { ...hs, privateKey: new TextEncoder().encode(`${secret}-but-different`) };
    expect((await outcome(verify(await sign(other)))).message).toBe('Invalid bearer token: bad signature');
  });

  it.each([
    ['missing', { sub: 'alice', roles: 'reader' }],
    ['not a tenant id', { sub: 'alice', tenant: 'Acme Corp', roles: 'reader' }],
    ['not a string', { sub: 'alice', tenant: ['acme'], roles: 'reader' }],
  ])('rejects a token whose tenant claim is %s', async (_name, claims) => {
    const verify = createJwtVerifier(staticOptions);
    const result = await outcome(verify(await sign(rsa, { claims })));
    expect(result.code).toBe('unauthenticated');
    expect(result.message).toMatch(/tenant claim "tenant"/);
  });

  it('rejects malformed groups and collections claims rather than guessing', async () => {
    const verify = createJwtVerifier(staticOptions);
    const groups = await sign(rsa, { claims: { ...baseClaims, groups: [{ name: 'x' }] } });
    const collections = await sign(rsa, { claims: { ...baseClaims, collections: 42 } });
    expect(await outcome(verify(groups))).toEqual({
      code: 'unauthenticated',
      message: 'Invalid bearer token: invalid groups claim',
    });
    expect((await outcome(verify(collections))).code).toBe('unauthenticated');
  });

  it('rejects a token without a subject', async () => {
    const verify = createJwtVerifier(staticOptions);
    const token = await sign(rsa, { claims: { tenant: 'acme', roles: 'reader' } });
    expect((await outcome(verify(token))).message).toBe('Invalid bearer token: missing sub claim');
  });

  it.each(['not-a-jwt', 'a.b.c', `${b64url({ alg: 'RS256' })}.not-json.sig`])(
    'rejects the garbage token %s',
    async (token) => {
      const verify = createJwtVerifier(staticOptions);
      expect((await outcome(verify(token))).code).toBe('unauthenticated');
    },
  );

  it('never echoes token contents in the message', async () => {
    const verify = createJwtVerifier(staticOptions);
    const token = await sign(rsa, {
      iss: 'https://attacker-controlled.example',
      claims: { sub: 'secret-subject', tenant: 'acme', roles: 'reader' },
    });
    const { message } = await outcome(verify(token));
    expect(message).not.toMatch(/attacker|secret-subject/);
  });

  it('forbids a valid token that grants no known role', async () => {
    const verify = createJwtVerifier(staticOptions);
    const none = await sign(rsa, {
      claims: { sub: 'dave', tenant: 'acme', roles: ['viewer', 'offline_access'] },
    });
    const missing = await sign(rsa, { claims: { sub: 'dave', tenant: 'acme' } });
    expect((await outcome(verify(none))).code).toBe('forbidden');
    expect((await outcome(verify(missing))).code).toBe('forbidden');
  });

  it('refuses invalid options when the verifier is built', () => {
    expect(() =>
      createJwtVerifier({ issuer, audience, algorithms: ['HS256'], keys: { secret: 'short' } }),
    ).toThrow(/at least 32 bytes/);
  });
});

describe('createJwtVerifier with a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let served: JSONWebKeySet = { keys: [] };
  let fetches = 0;
  let failing = false;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches += 1;
      if (failing) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  function reset(keys: JWK[]): void {
    served = { keys };
    fetches = 0;
    failing = false;
  }

  it('verifies with fetched keys and fetches once while the set is fresh', async () => {
    reset([rsa.publicJwk, ec.publicJwk]);
    const verify = createJwtVerifier({ issuer, audience, algorithms: ['RS256', 'ES256'], keys: { jwksUrl } });
    await expect(verify(await sign(rsa))).resolves.toMatchObject({ subject: 'alice' });
    await expect(verify(await sign(ec))).resolves.toMatchObject({ subject: 'alice' });
    expect(fetches).toBe(1);
  });

  it('picks up a key rotated into the served set after the first fetch', async () => {
    reset([rsa.publicJwk]);
    const verify = createJwtVerifier({
      issuer,
      audience,
      algorithms: ['RS256'],
      keys: { jwksUrl },
      jwksCooldownMs: 0,
    });
    await expect(verify(await sign(rsa))).resolves.toMatchObject({ subject: 'alice' });

    const rotated = await signingKey('RS256', 'rsa-2');
    served = { keys: [rsa.publicJwk, rotated.publicJwk] };
    await expect(verify(await sign(rotated))).resolves.toMatchObject({ subject: 'alice' });
    expect(fetches).toBe(2);

    // Still unknown after a refetch: refused, not trusted.
    expect((await outcome(verify(await sign(stranger)))).message).toBe('Invalid bearer token: unknown key');
  });

  it('does not refetch for unknown key ids during the cooldown', async () => {
    reset([rsa.publicJwk]);
    const verify = createJwtVerifier({ issuer, audience, algorithms: ['RS256'], keys: { jwksUrl } });
    await expect(verify(await sign(rsa))).resolves.toMatchObject({ subject: 'alice' });
    for (let i = 0; i < 3; i += 1) {
      expect((await outcome(verify(await sign(stranger)))).message).toBe('Invalid bearer token: unknown key');
    }
    expect(fetches).toBe(1);
  });

  it('reports an unreachable key set as a dependency problem, not a bad token', async () => {
    reset([rsa.publicJwk]);
    failing = true;
    const verify = createJwtVerifier({ issuer, audience, algorithms: ['RS256'], keys: { jwksUrl } });
    expect((await outcome(verify(await sign(rsa)))).code).toBe('dependency_unavailable');
  });
});
