import { isAppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { type Grant, isGrantWithin, requireGrantWithin } from './grant-scope.js';
import type { Principal } from './principal.js';

const later = new Date('2030-01-01T00:00:00Z');
const scoped: Principal = {
  tenantId: 'acme',
  role: 'admin',
  collections: ['a', 'b'],
  system: false,
  keyId: 'k1',
  subject: 'key:k1',
  principals: ['group:staff', 'user:ann'],
  expiresAt: later,
};
const within: Grant = {
  role: 'editor',
  collections: ['a'],
  principals: ['group:staff'],
  expiresAt: new Date('2029-01-01T00:00:00Z'),
};

function refusal(principal: Principal, grant: Grant): string {
  try {
    requireGrantWithin(principal, grant);
    return 'allowed';
  } catch (error) {
    if (!isAppError(error) || error.code !== 'forbidden') throw error;
    return error.message;
  }
}

describe('requireGrantWithin', () => {
  it('lets a credential hand on a subset of what it holds', () => {
    expect(refusal(scoped, within)).toBe('allowed');
    expect(refusal(scoped, { ...within, role: 'admin', collections: ['a', 'b'], expiresAt: later })).toBe(
      'allowed',
    );
  });

  it('refuses a higher role', () => {
    expect(refusal({ ...scoped, role: 'editor' }, { ...within, role: 'admin' })).toMatch(
      /editor role and cannot create a admin key/,
    );
  });

  it('refuses a tenant-wide key or other collections from a collection-scoped credential', () => {
    expect(refusal(scoped, { ...within, collections: null })).toMatch(/must list its collections/);
    expect(refusal(scoped, { ...within, collections: ['a', 'c'] })).toMatch(
      /collections it does not hold: c$/,
    );
  });

  it('refuses an unrestricted key or other principals from a credential with principals', () => {
    expect(refusal(scoped, { ...within, principals: null })).toMatch(/must list its principals/);
    expect(refusal(scoped, { ...within, principals: ['group:finance'] })).toMatch(/group:finance/);
  });

  it('refuses a key that would outlive the credential', () => {
    expect(refusal(scoped, { ...within, expiresAt: null })).toMatch(/must set expires_at/);
    expect(refusal(scoped, { ...within, expiresAt: new Date('2031-01-01T00:00:00Z') })).toMatch(
      /not be later than the credential's own expiry/,
    );
  });

  it('leaves an unrestricted tenant admin and the bootstrap admin free', () => {
    const wide: Principal = { ...scoped, collections: null, principals: null, expiresAt: null };
    expect(refusal(wide, { role: 'admin', collections: null, principals: null, expiresAt: null })).toBe(
      'allowed',
    );
    const bootstrap: Principal = { ...scoped, role: 'admin', system: true };
    expect(refusal(bootstrap, { role: 'admin', collections: null, principals: null, expiresAt: null })).toBe(
      'allowed',
    );
  });
});

describe('isGrantWithin', () => {
  it('tells which existing keys a credential may see and revoke', () => {
    expect(isGrantWithin(scoped, within)).toBe(true);
    expect(isGrantWithin(scoped, { ...within, collections: ['secret'] })).toBe(false);
  });
});
