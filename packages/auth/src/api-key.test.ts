import { describe, expect, it } from 'vitest';
import { generateApiKey, secretMatcher, secretsEqual } from './api-key.js';

describe('secretMatcher', () => {
  it('accepts exactly its secret, as secretsEqual does, whatever the candidate’s length', () => {
    const secret = 'admin-key-0123456789abcdef';
    const isSecret = secretMatcher(secret);
    for (const candidate of [secret, `${secret}x`, secret.slice(0, -1), '', 'Admin-key-0123456789abcdef']) {
      expect(isSecret(candidate)).toBe(secretsEqual(candidate, secret));
    }
    expect(isSecret(secret)).toBe(true);
    expect(isSecret(generateApiKey('pepper').key)).toBe(false);
  });
});
