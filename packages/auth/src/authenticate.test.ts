import { isAppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from './api-key.js';
import { createAuthenticator, type StoredKey } from './authenticate.js';
import { canAccessCollection, type Principal, requireRole, requireTenantAdmin } from './principal.js';

const pepper = 'pepper';
const issued = generateApiKey(pepper);
const keys = new Map<string, StoredKey>([
  [
    issued.hash,
    { id: 'k1', tenantId: 'acme', role: 'reader', collections: ['docs'], principals: ['group:staff'] },
  ],
]);
const authenticate = createAuthenticator({
  adminApiKey: 'admin-secret-key-0123456789',
  defaultTenant: 'default',
  pepper,
  findKeyByHash: async (hash) => keys.get(hash),
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return isAppError(error) ? error.code : 'other';
  }
}

describe('authenticate', () => {
  it('resolves an issued key to its tenant, role and collections', async () => {
    await expect(authenticate(`Bearer ${issued.key}`)).resolves.toEqual({
      tenantId: 'acme',
      role: 'reader',
      collections: ['docs'],
      system: false,
      keyId: 'k1',
      subject: 'key:k1',
      principals: ['group:staff'],
      expiresAt: null,
    });
  });

  it('resolves the bootstrap admin key to a system admin', async () => {
    const principal = await authenticate('Bearer admin-secret-key-0123456789');
    expect(principal).toMatchObject({ system: true, role: 'admin', tenantId: 'default' });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not bearer', `Basic ${issued.key}`],
    ['two tokens', `Bearer ${issued.key} extra`],
    ['unknown key', `Bearer rag_abcdefgh_${'x'.repeat(32)}`],
    ['garbage', 'Bearer <script>'],
    [
      'key with a changed character',
      `Bearer ${issued.key.slice(0, -1)}${issued.key.endsWith('A') ? 'B' : 'A'}`,
    ],
  ])('rejects a %s credential as unauthenticated', async (_name, header) => {
    expect(await codeOf(authenticate(header))).toBe('unauthenticated');
  });

  it('stores only a keyed hash that depends on the pepper', () => {
    expect(issued.hash).not.toContain(issued.key);
    expect(hashApiKey(issued.key, 'other')).not.toBe(issued.hash);
  });
});

describe('roles', () => {
  const reader: Principal = {
    tenantId: 'acme',
    role: 'reader',
    collections: ['docs'],
    system: false,
    keyId: 'k',
    subject: null,
    principals: null,
  };

  it('forbids a reader from editor work and a tenant admin from another tenant', async () => {
    expect(() => requireRole(reader, 'editor')).toThrow(/editor role/);
    expect(() => requireTenantAdmin({ ...reader, role: 'admin' }, 'globex')).toThrow(
      /cannot manage tenant globex/,
    );
    expect(() => requireTenantAdmin({ ...reader, role: 'admin' }, 'acme')).not.toThrow();
  });

  it('limits a scoped key to its collections', () => {
    expect(canAccessCollection(reader, 'docs')).toBe(true);
    expect(canAccessCollection(reader, 'secret')).toBe(false);
    expect(canAccessCollection({ ...reader, collections: null }, 'secret')).toBe(true);
  });
});

describe('authenticate with JWTs', () => {
  const jwtPrincipal: Principal = {
    tenantId: 'acme',
    role: 'editor',
    collections: null,
    system: false,
    keyId: null,
    subject: 'alice',
    principals: ['user:alice'],
  };
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

  it('refuses a JWT when no JWT verifier is configured', async () => {
    await expect(authenticate(`Bearer ${jwt}`)).rejects.toMatchObject({
      code: 'unauthenticated',
      message: 'JWT authentication is not configured',
    });
  });

  it('hands JWT-shaped tokens to the verifier and keeps API keys working', async () => {
    const seen: string[] = [];
    const withJwt = createAuthenticator({
      adminApiKey: 'admin-secret-key-0123456789',
      defaultTenant: 'default',
      pepper,
      findKeyByHash: async (hash) => keys.get(hash),
      jwt: async (token) => {
        seen.push(token);
        return jwtPrincipal;
      },
    });
    await expect(withJwt(`Bearer ${jwt}`)).resolves.toEqual(jwtPrincipal);
    // An unsigned token still goes to the verifier, which refuses it with a reason.
    await withJwt('Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.');
    expect(seen).toEqual([jwt, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.']);
    await expect(withJwt(`Bearer ${issued.key}`)).resolves.toMatchObject({ keyId: 'k1' });
    await expect(withJwt('Bearer admin-secret-key-0123456789')).resolves.toMatchObject({ system: true });
  });
});
