import { createJwtVerifier } from '@rag/auth/jwt-verifier';
import { ConfigError } from '@rag/config/parse-config';
import { describe, expect, it } from 'vitest';
import { jwtOptions, loadConfig } from './config.js';

describe('gateway config', () => {
  it('starts on local defaults with only the admin key set', () => {
    const config = loadConfig({
      ADMIN_API_KEY: 'a-very-long-admin-key-000',
      SERVICE_TOKEN: 's'.repeat(32),
      RAG_BASE_DIR: '/srv/rag',
    });
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.storage).toEqual({ driver: 'local', root: '/srv/rag/.data/storage' });
    expect(config.postgres).toMatchObject({
      url: 'postgres://postgres@127.0.0.1:5432/postgres',
      schema: 'public',
    });
    expect(config.redis.keyPrefix).toBe('rag');
    expect(config.searchServiceUrl).toBe('http://127.0.0.1:8082');
  });

  it('reads the webhook settings: strict by default, keys named by id, a bad key named without its value', () => {
    const base = {
      ADMIN_API_KEY: 'a-very-long-admin-key-000',
      SERVICE_TOKEN: 's'.repeat(32),
      RAG_BASE_DIR: '/srv/rag',
    };
    expect(loadConfig(base).webhooks).toEqual({
      allowedHosts: [],
      allowPrivate: false,
      secretKeys: undefined,
    });
    const key = Buffer.alloc(32, 7).toString('base64');
    const open = loadConfig({
      ...base,
      WEBHOOK_ALLOWED_HOSTS: 'Hooks.Internal, receiver.svc',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_SECRET_KEY: `2025:${key}`,
    }).webhooks;
    expect(open).toMatchObject({ allowedHosts: ['hooks.internal', 'receiver.svc'], allowPrivate: true });
    expect(open.secretKeys?.map((k) => k.id)).toEqual(['2025']);
    expect(() => loadConfig({ ...base, WEBHOOK_SECRET_KEY: 'k1:dG9vIHNob3J0' })).toThrow(
      /WEBHOOK_SECRET_KEY \(webhooks.secretKeys\): key "k1" must be 32 bytes/,
    );
  });

  it("reads the console's sign-in at the JWT issuer, and refuses it without an issuer", () => {
    const base = {
      ADMIN_API_KEY: 'a-very-long-admin-key-000',
      SERVICE_TOKEN: 's'.repeat(32),
      RAG_BASE_DIR: '/srv/rag',
    };
    expect(loadConfig(base).consoleOidc).toBeUndefined();
    const jwt = {
      JWT_ISSUER: 'https://id.example.com/realms/rag',
      JWT_AUDIENCE: 'rag-gateway',
      JWT_ALGORITHMS: 'RS256',
      JWT_JWKS_URL: 'https://id.example.com/realms/rag/certs',
    };
    expect(loadConfig({ ...base, ...jwt, CONSOLE_OIDC_CLIENT_ID: 'rag-console' }).consoleOidc).toEqual({
      clientId: 'rag-console',
      scope: 'openid',
    });
    expect(
      loadConfig({
        ...base,
        ...jwt,
        CONSOLE_OIDC_CLIENT_ID: 'rag-console',
        CONSOLE_OIDC_SCOPE: 'openid rag',
        CONSOLE_OIDC_RESOURCE: 'https://rag.example.com/v1',
      }).consoleOidc,
    ).toEqual({ clientId: 'rag-console', scope: 'openid rag', resource: 'https://rag.example.com/v1' });
    expect(() => loadConfig({ ...base, CONSOLE_OIDC_CLIENT_ID: 'rag-console' })).toThrow(
      /CONSOLE_OIDC_CLIENT_ID .*set JWT_ISSUER too/,
    );
    expect(() =>
      loadConfig({ ...base, ...jwt, CONSOLE_OIDC_CLIENT_ID: 'rag-console', CONSOLE_OIDC_RESOURCE: 'api' }),
    ).toThrow(/CONSOLE_OIDC_RESOURCE/);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'http', DATABASE_SCHEMA: 'Robert"; DROP', BODY_LIMIT: 'lots' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_SCHEMA', 'BODY_LIMIT', 'ADMIN_API_KEY', 'SERVICE_TOKEN'])
      expect(message).toContain(name);
  });

  it('reads TRUSTED_PROXIES as CIDRs and names a bad entry', () => {
    const base = {
      ADMIN_API_KEY: 'a-very-long-admin-key-000',
      SERVICE_TOKEN: 's'.repeat(32),
      STORAGE_ROOT: '/var/lib/rag/storage',
    };
    const config = loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/8,192.168.1.1' });
    expect(config.rateLimits.trustedProxies.contains('10.2.3.4')).toBe(true);
    expect(config.rateLimits.trustedProxies.contains('192.168.1.2')).toBe(false);
    expect(loadConfig(base).rateLimits.trustedProxies.contains('10.2.3.4')).toBe(false);
    expect(() => loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/8,ingress' })).toThrow(/TRUSTED_PROXIES/);
  });

  it('checks the JWT settings once, with the other problems, each by its variable', () => {
    const base = { ADMIN_API_KEY: 'a-very-long-admin-key-000', RAG_BASE_DIR: '/srv/rag' };
    let error: unknown;
    try {
      loadConfig({
        ...base,
        SERVICE_TOKEN_FILE: '/nonexistent/service-token',
        JWT_ISSUER: 'https://id.example.com',
        JWT_AUDIENCE: 'rag-gateway',
        JWT_ALGORITHMS: 'RS256,none',
        JWT_JWKS_URL: 'http://id.example.com/certs',
        JWT_SECRET: 'short',
        JWT_ROLES_CLAIM: '',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^SERVICE_TOKEN_FILE \(serviceToken\): cannot read \/nonexistent\/service-token/),
      'JWT_ROLES_CLAIM (jwt.claims.roles): must not be empty',
      'JWT_ALGORITHMS (jwt.algorithms): "none" (unsigned tokens) can never be allowed',
      'JWT_SECRET (jwt.keys.secret): only for HS* algorithms; a secret next to public-key algorithms invites confusion',
      'JWT_JWKS_URL (jwt.keys.jwksUrl): must use https (plain http only on a loopback address)',
    ]);

    const jwt = loadConfig({
      ...base,
      SERVICE_TOKEN: 's'.repeat(32),
      JWT_ISSUER: 'https://id.example.com',
      JWT_AUDIENCE: 'rag-gateway',
      JWT_ALGORITHMS: 'RS256, ES256',
      JWT_JWKS_URL: 'https://id.example.com/certs',
      JWT_TENANT_CLAIM: 'org',
    }).jwt;
    expect(jwt).toMatchObject({ algorithms: ['RS256', 'ES256'], clockToleranceSec: 30 });
    expect(jwt && jwtOptions(jwt)).toEqual({
      issuer: 'https://id.example.com',
      audience: 'rag-gateway',
      algorithms: ['RS256', 'ES256'],
      clockToleranceSec: 30,
      keys: { jwksUrl: 'https://id.example.com/certs' },
      claims: { tenant: 'org' },
    });
  });

  it('names the variable of a JWT setting no key source answers', () => {
    expect(() =>
      loadConfig({
        ADMIN_API_KEY: 'a-very-long-admin-key-000',
        SERVICE_TOKEN: 's'.repeat(32),
        RAG_BASE_DIR: '/srv/rag',
        JWT_ISSUER: 'https://id.example.com',
        JWT_AUDIENCE: 'rag-gateway',
        JWT_ALGORITHMS: 'HS256',
      }),
    ).toThrow(/JWT_SECRET \(jwt\.keys\.secret\): HS256 needs a shared secret/);
  });

  it('hands the verifier options it accepts', () => {
    const jwt = loadConfig({
      ADMIN_API_KEY: 'a-very-long-admin-key-000',
      SERVICE_TOKEN: 's'.repeat(32),
      RAG_BASE_DIR: '/srv/rag',
      JWT_ISSUER: 'https://id.example.com',
      JWT_AUDIENCE: 'rag-gateway',
      JWT_ALGORITHMS: 'HS256',
      JWT_SECRET: 'k'.repeat(32),
    }).jwt;
    expect(jwt).toBeDefined();
    expect(() => createJwtVerifier(jwtOptions(jwt!))).not.toThrow();
  });
});
