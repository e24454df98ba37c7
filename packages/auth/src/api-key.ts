import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `rag_<prefix>_<secret>`: the prefix is stored in clear so people can tell keys apart
 * in listings and logs; the whole key is stored only as a keyed hash. Keys carry 190 bits of randomness,
 * so a fast keyed hash is enough (no slow password hash is needed against guessing).
 */
const keyPattern = /^rag_([a-z0-9]{8})_([A-Za-z0-9_-]{32})$/;

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(pepper: string): GeneratedApiKey {
  const prefix = randomBytes(8)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 8);
  const secret = randomBytes(24).toString('base64url');
  const key = `rag_${prefix}_${secret}`;
  return { key, prefix, hash: hashApiKey(key, pepper) };
}

export function looksLikeApiKey(token: string): boolean {
  return keyPattern.test(token);
}

export function hashApiKey(key: string, pepper: string): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(compareDigest(a), compareDigest(b));
}

/**
 * `secretsEqual` against one fixed secret, whose digest is computed once: a check on every request (the
 * bootstrap admin key) then hashes only the presented one.
 */
export function secretMatcher(secret: string): (candidate: string) => boolean {
  const expected = compareDigest(secret);
  return (candidate) => timingSafeEqual(compareDigest(candidate), expected);
}

/** Equal-length digests, so the comparison's time says nothing about the secrets' lengths or contents. */
function compareDigest(secret: string): Buffer {
  return createHmac('sha256', 'compare').update(secret).digest();
}
