import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type JwtAlgorithm,
  JwtConfigError,
  type JwtOptions,
  jwtConfigProblems,
  resolveJwtConfig,
} from './jwt-config.js';

const base = { issuer: 'https://idp.example.com', audience: 'rag-gateway' };
const secret = 'a-shared-secret-that-is-at-least-32-bytes-long';
let rsaPem: string;
let rsaPrivatePem: string;
let rsaJwk: JWK;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  rsaPem = await exportSPKI(publicKey);
  rsaPrivatePem = await exportPKCS8(privateKey);
  rsaJwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
});

describe('resolveJwtConfig', () => {
  it('fills in the defaults', () => {
    expect(resolveJwtConfig({ ...base, algorithms: ['HS256'], keys: { secret } })).toEqual({
      ...base,
      algorithms: ['HS256'],
      keys: { secret },
      clockToleranceSec: 30,
      claims: { tenant: 'tenant', roles: 'roles', groups: 'groups', collections: 'collections' },
      jwksCooldownMs: 30_000,
    });
  });

  it('keeps overridden claim names and tolerance', () => {
    const config = resolveJwtConfig({
      ...base,
      algorithms: ['RS256'],
      keys: { jwksUrl: 'https://idp.example.com/certs' },
      clockToleranceSec: 0,
      claims: { roles: 'realm_access.roles' },
    });
    expect(config.clockToleranceSec).toBe(0);
    expect(config.claims).toMatchObject({ tenant: 'tenant', roles: 'realm_access.roles' });
  });

  it('lists every problem at once', () => {
    try {
      resolveJwtConfig({ issuer: '', audience: '', algorithms: [] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(JwtConfigError);
      expect((error as JwtConfigError).problems).toEqual([
        'issuer: must not be empty',
        'audience: must not be empty',
        'algorithms: list at least one algorithm',
      ]);
    }
  });
});

describe('jwtConfigProblems', () => {
  const cases: [string, () => JwtOptions, RegExp][] = [
    ['no algorithms', () => ({ ...base, algorithms: [], keys: { secret } }), /at least one algorithm/],
    [
      'alg none',
      () => ({ ...base, algorithms: ['none' as JwtAlgorithm], keys: { secret } }),
      /"none" \(unsigned tokens\) can never be allowed/,
    ],
    [
      'alg NONE in another case',
      () => ({ ...base, algorithms: ['RS256', 'NONE' as JwtAlgorithm], keys: { publicKeyPem: rsaPem } }),
      /can never be allowed/,
    ],
    [
      'an unknown algorithm',
      () => ({ ...base, algorithms: ['XS256' as JwtAlgorithm], keys: { secret } }),
      /unknown/,
    ],
    [
      'HS mixed with RS',
      () => ({ ...base, algorithms: ['RS256', 'HS256'], keys: { secret, publicKeyPem: rsaPem } }),
      /do not mix shared-secret \(HS256\) and public-key \(RS256\)/,
    ],
    ['HS without a secret', () => ({ ...base, algorithms: ['HS256'] }), /needs a shared secret/],
    [
      'HS with a short secret',
      () => ({ ...base, algorithms: ['HS512'], keys: { secret: 'x'.repeat(31) } }),
      /32 bytes/,
    ],
    [
      'HS with a public key too',
      () => ({ ...base, algorithms: ['HS256'], keys: { secret, jwksUrl: 'https://idp.example.com/certs' } }),
      /keys.jwksUrl: not used/,
    ],
    ['RS without keys', () => ({ ...base, algorithms: ['RS256'] }), /needs one of keys.jwks, keys.jwksUrl/],
    [
      'RS with a secret too',
      () => ({ ...base, algorithms: ['RS256'], keys: { secret, publicKeyPem: rsaPem } }),
      /keys.secret: only for HS/,
    ],
    [
      'two key sources',
      () => ({ ...base, algorithms: ['RS256'], keys: { publicKeyPem: rsaPem, jwks: { keys: [rsaJwk] } } }),
      /set only one of/,
    ],
    [
      'a JWKS URL over plain http',
      () => ({ ...base, algorithms: ['RS256'], keys: { jwksUrl: 'http://idp.example.com/certs' } }),
      /must use https/,
    ],
    [
      'a JWKS URL that is no URL',
      () => ({ ...base, algorithms: ['RS256'], keys: { jwksUrl: 'certs' } }),
      /valid URL/,
    ],
    ['an empty JWKS', () => ({ ...base, algorithms: ['RS256'], keys: { jwks: { keys: [] } } }), /non-empty/],
    [
      'a JWKS with a private key',
      () => ({ ...base, algorithms: ['RS256'], keys: { jwks: { keys: [{ ...rsaJwk, d: 'secret' }] } } }),
      /is a private key/,
    ],
    [
      'a JWKS with a symmetric key',
      () => ({ ...base, algorithms: ['RS256'], keys: { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } } }),
      /kty must be RSA, EC or OKP/,
    ],
    [
      'a private key PEM',
      () => ({ ...base, algorithms: ['RS256'], keys: { publicKeyPem: rsaPrivatePem } }),
      /is a private key/,
    ],
    [
      'an unreadable PEM',
      () => ({ ...base, algorithms: ['RS256'], keys: { publicKeyPem: 'nope' } }),
      /not a readable/,
    ],
    [
      'a PEM that fits none of the algorithms',
      () => ({ ...base, algorithms: ['ES256'], keys: { publicKeyPem: rsaPem } }),
      /a rsa key fits none of the algorithms ES256/,
    ],
    [
      'a negative clock tolerance',
      () => ({ ...base, algorithms: ['HS256'], keys: { secret }, clockToleranceSec: -1 }),
      /clockToleranceSec/,
    ],
    [
      'an empty claim name',
      () => ({ ...base, algorithms: ['HS256'], keys: { secret }, claims: { tenant: '' } }),
      /claims.tenant: must not be empty/,
    ],
  ];

  it.each(cases)('reports %s', (_name, options, problem) => {
    const problems = jwtConfigProblems(options());
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });

  it.each<[string, () => JwtOptions]>([
    ['HS256 with a secret', () => ({ ...base, algorithms: ['HS256', 'HS512'], keys: { secret } })],
    [
      'RS256 and PS256 with a PEM',
      () => ({ ...base, algorithms: ['RS256', 'PS256'], keys: { publicKeyPem: rsaPem } }),
    ],
    [
      'RS256 with a static JWKS',
      () => ({ ...base, algorithms: ['RS256'], keys: { jwks: { keys: [rsaJwk] } } }),
    ],
    [
      'a JWKS URL on loopback over http',
      () => ({ ...base, algorithms: ['ES256'], keys: { jwksUrl: 'http://127.0.0.1:8080/certs' } }),
    ],
  ])('accepts %s', (_name, options) => {
    expect(jwtConfigProblems(options())).toEqual([]);
  });
});
