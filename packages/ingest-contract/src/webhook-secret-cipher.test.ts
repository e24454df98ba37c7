import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createWebhookSecretCipher,
  deriveWebhookSecretKey,
  parseWebhookSecretKeys,
  webhookSecretKeys,
} from './webhook-secret-cipher.js';

const keyText = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('webhook secret cipher', () => {
  it('seals a secret so the stored value does not contain it, and opens it again', () => {
    const cipher = createWebhookSecretCipher(parseWebhookSecretKeys(keyText('k1')));
    const stored = cipher.seal('acme', 'whsec-0123456789abcdef');
    expect(stored).toMatch(/^aesgcm1:k1:/);
    expect(stored).not.toContain('whsec');
    expect(cipher.open('acme', stored)).toBe('whsec-0123456789abcdef');
    expect(cipher.isStale(stored)).toBe(false);
  });

  it('refuses a value moved to another tenant or altered', () => {
    const cipher = createWebhookSecretCipher(parseWebhookSecretKeys(keyText('k1')));
    const stored = cipher.seal('acme', 'whsec-0123456789abcdef');
    expect(() => cipher.open('globex', stored)).toThrow(/does not decrypt with key "k1"/);
    const altered = `${stored.slice(0, -2)}${stored.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(() => cipher.open('acme', altered)).toThrow(/does not decrypt/);
  });

  it('rotates: the new key seals, the old one still opens, and old values read as stale', () => {
    const oldKey = keyText('2024');
    const before = createWebhookSecretCipher(parseWebhookSecretKeys(oldKey));
    const stored = before.seal('acme', 'whsec-0123456789abcdef');
    const after = createWebhookSecretCipher(parseWebhookSecretKeys(`${keyText('2025')},${oldKey}`));
    expect(after.open('acme', stored)).toBe('whsec-0123456789abcdef');
    expect(after.isStale(stored)).toBe(true);
    expect(after.seal('acme', 'x'.repeat(16))).toMatch(/^aesgcm1:2025:/);
    const dropped = createWebhookSecretCipher(parseWebhookSecretKeys(keyText('2025')));
    expect(() => dropped.open('acme', stored)).toThrow(/key "2024", which is not configured/);
  });

  it('reads a secret stored before encryption as itself, and as stale', () => {
    const cipher = createWebhookSecretCipher([deriveWebhookSecretKey('s'.repeat(32))]);
    expect(cipher.open('acme', 'plain-secret-0123456789')).toBe('plain-secret-0123456789');
    expect(cipher.isStale('plain-secret-0123456789')).toBe(true);
  });

  it('derives a stable key from the service token, with an id that changes with it', () => {
    expect(deriveWebhookSecretKey('a'.repeat(32))).toEqual(deriveWebhookSecretKey('a'.repeat(32)));
    expect(deriveWebhookSecretKey('a'.repeat(32)).id).not.toBe(deriveWebhookSecretKey('b'.repeat(32)).id);
  });

  it('moves from the derived key to a configured one without losing stored secrets', () => {
    const token = 't'.repeat(32);
    const before = createWebhookSecretCipher(webhookSecretKeys(undefined, token));
    const stored = before.seal('acme', 'whsec-0123456789abcdef');
    const after = createWebhookSecretCipher(webhookSecretKeys(parseWebhookSecretKeys(keyText('k1')), token));
    expect(after.currentKeyId).toBe('k1');
    expect(after.open('acme', stored)).toBe('whsec-0123456789abcdef');
    expect(after.isStale(stored)).toBe(true);
  });

  it('names the problem in a malformed key setting', () => {
    expect(() => parseWebhookSecretKeys('nocolon')).toThrow(/entry 1 must be <id>:<base64 key>/);
    expect(() => parseWebhookSecretKeys('k1:c2hvcnQ=')).toThrow(/key "k1" must be 32 bytes/);
    expect(() => parseWebhookSecretKeys(`${keyText('k1')},${keyText('k1')}`)).toThrow(/distinct/);
  });
});
