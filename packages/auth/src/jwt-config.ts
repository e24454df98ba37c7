import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';

/**
 * How the gateway verifies JWTs from an identity provider. This is the typed shape the gateway builds
 * from its environment; parsing the environment stays in the gateway's config.
 */

const symmetricAlgorithms = ['HS256', 'HS384', 'HS512'] as const;
const asymmetricAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;

/** `none` is deliberately absent: an unsigned token must never be accepted, whatever the config says. */
export const jwtAlgorithms = [...asymmetricAlgorithms, ...symmetricAlgorithms] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

export function isJwtAlgorithm(value: string): value is JwtAlgorithm {
  return (jwtAlgorithms as readonly string[]).includes(value);
}

function isSymmetric(algorithm: JwtAlgorithm): boolean {
  return (symmetricAlgorithms as readonly string[]).includes(algorithm);
}

export interface JwtKeySources {
  /** A static JSON Web Key Set of public keys. */
  jwks?: JSONWebKeySet;
  /** The identity provider's JWKS endpoint (https, or http on a loopback address). */
  jwksUrl?: string;
  /** Shared secret for HS* algorithms only, at least 32 bytes. */
  secret?: string;
  /** One public key (SPKI PEM) for asymmetric algorithms. */
  publicKeyPem?: string;
}

export interface JwtClaimNames {
  /** Claim holding the tenant id. */
  tenant: string;
  /** Claim holding a role or a list of roles; the highest of admin > editor > reader wins. */
  roles: string;
  /** Claim holding the caller's groups; each becomes an ACL principal `group:<name>`. */
  groups: string;
  /** Optional claim listing the collections the token is limited to; absent means all of the tenant's. */
  collections: string;
}

export interface JwtOptions {
  issuer: string;
  audience: string;
  algorithms: readonly JwtAlgorithm[];
  keys?: JwtKeySources;
  /** Allowed clock skew between the identity provider and us, for exp and nbf. Default 30. */
  clockToleranceSec?: number;
  /** Claim names; a dotted name (`realm_access.roles`) reaches into nested objects when no claim has that exact name. */
  claims?: Partial<JwtClaimNames>;
  /**
   * With `jwksUrl`, the least time between two JWKS fetches triggered by an unknown `kid` (jose's
   * cooldown), so that tokens with made-up key ids cannot make us hammer the identity provider. Default 30000.
   */
  jwksCooldownMs?: number;
}

export interface JwtConfig {
  issuer: string;
  audience: string;
  algorithms: readonly JwtAlgorithm[];
  keys: JwtKeySources;
  clockToleranceSec: number;
  claims: JwtClaimNames;
  jwksCooldownMs: number;
}

export const defaultJwtClaimNames: Readonly<JwtClaimNames> = {
  tenant: 'tenant',
  roles: 'roles',
  groups: 'groups',
  collections: 'collections',
};

export class JwtConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid JWT configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'JwtConfigError';
    this.problems = problems;
  }
}

const minSecretBytes = 32;
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Every problem with the options, each prefixed with its path, so that the gateway can fold them into its
 * own start-up report. Empty when the options are usable.
 */
export function jwtConfigProblems(options: JwtOptions): string[] {
  const problems: string[] = [];
  if (!options.issuer) problems.push('issuer: must not be empty');
  if (!options.audience) problems.push('audience: must not be empty');

  const tolerance = options.clockToleranceSec;
  if (tolerance !== undefined && !(Number.isFinite(tolerance) && tolerance >= 0)) {
    problems.push('clockToleranceSec: must be a number of seconds >= 0');
  }
  const cooldown = options.jwksCooldownMs;
  if (cooldown !== undefined && !(Number.isFinite(cooldown) && cooldown >= 0)) {
    problems.push('jwksCooldownMs: must be a number of milliseconds >= 0');
  }
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (typeof value !== 'string' || value === '') problems.push(`claims.${name}: must not be empty`);
  }

  // The options are typed, but the gateway fills them from strings: check the names at run time too.
  const algorithms: readonly string[] = options.algorithms ?? [];
  if (algorithms.length === 0) problems.push('algorithms: list at least one algorithm');
  for (const algorithm of algorithms) {
    if (algorithm.toLowerCase() === 'none') {
      problems.push('algorithms: "none" (unsigned tokens) can never be allowed');
    } else if (!isJwtAlgorithm(algorithm)) {
      problems.push(`algorithms: unknown algorithm "${algorithm}"; use one of ${jwtAlgorithms.join(', ')}`);
    }
  }
  const known = algorithms.filter(isJwtAlgorithm);
  const symmetric = known.filter(isSymmetric);
  const asymmetric = known.filter((a) => !isSymmetric(a));
  if (symmetric.length > 0 && asymmetric.length > 0) {
    // Mixing lets a token signed with HS* and the public key as secret pass as genuine (RS/HS confusion).
    problems.push(
      `algorithms: do not mix shared-secret (${symmetric.join(', ')}) and public-key (${asymmetric.join(', ')}) algorithms`,
    );
  }

  const keys = options.keys ?? {};
  const publicSources = (['jwks', 'jwksUrl', 'publicKeyPem'] as const).filter((k) => keys[k] !== undefined);
  if (symmetric.length > 0) {
    if (keys.secret === undefined) {
      problems.push(`keys.secret: ${symmetric.join(', ')} needs a shared secret`);
    } else if (Buffer.byteLength(keys.secret, 'utf8') < minSecretBytes) {
      problems.push(`keys.secret: must be at least ${minSecretBytes} bytes`);
    }
    for (const source of publicSources) {
      problems.push(`keys.${source}: not used by shared-secret algorithms; remove it`);
    }
  }
  if (asymmetric.length > 0) {
    if (publicSources.length === 0) {
      problems.push(
        `keys: ${asymmetric.join(', ')} needs one of keys.jwks, keys.jwksUrl or keys.publicKeyPem`,
      );
    } else if (publicSources.length > 1) {
      // One source of truth for keys: with several, which one vouched for a token would be unclear.
      problems.push(`keys: set only one of ${publicSources.map((s) => `keys.${s}`).join(', ')}`);
    }
    if (keys.secret !== undefined) {
      problems.push(
        'keys.secret: only for HS* algorithms; a secret next to public-key algorithms invites confusion',
      );
    }
  }
  if (keys.jwksUrl !== undefined) problems.push(...jwksUrlProblems(keys.jwksUrl));
  if (keys.jwks !== undefined) problems.push(...jwksProblems(keys.jwks));
  if (keys.publicKeyPem !== undefined) problems.push(...pemProblems(keys.publicKeyPem, asymmetric));
  return problems;
}

/** Applies the defaults and validates; throws JwtConfigError listing every problem. */
export function resolveJwtConfig(options: JwtOptions): JwtConfig {
  const problems = jwtConfigProblems(options);
  if (problems.length > 0) throw new JwtConfigError(problems);
  return {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: [...new Set(options.algorithms)],
    keys: { ...options.keys },
    clockToleranceSec: options.clockToleranceSec ?? 30,
    claims: { ...defaultJwtClaimNames, ...definedClaimNames(options.claims ?? {}) },
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
  };
}

/** Drops explicitly undefined entries so that they do not override the defaults. */
function definedClaimNames(claims: Partial<JwtClaimNames>): Partial<JwtClaimNames> {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}

function jwksUrlProblems(jwksUrl: string): string[] {
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    return ['keys.jwksUrl: not a valid URL'];
  }
  // Keys fetched over plain HTTP could be swapped by anyone on the path, who could then mint tokens.
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname))) return [];
  return ['keys.jwksUrl: must use https (plain http only on a loopback address)'];
}

function jwksProblems(jwks: JSONWebKeySet): string[] {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0)
    return ['keys.jwks: must have a non-empty "keys" array'];
  const problems: string[] = [];
  jwks.keys.forEach((key, index) => {
    if (key.d !== undefined)
      problems.push(`keys.jwks.keys[${index}]: is a private key; publish only public keys`);
    // A symmetric key in a public-key set would let the HS/RS confusion in through the back door.
    if (!['RSA', 'EC', 'OKP'].includes(String(key.kty))) {
      problems.push(`keys.jwks.keys[${index}]: kty must be RSA, EC or OKP`);
    }
  });
  return problems;
}

const keyTypesFor: Record<string, readonly string[]> = {
  RS: ['rsa'],
  PS: ['rsa', 'rsa-pss'],
  ES: ['ec'],
  Ed: ['ed25519', 'ed448'],
};

function pemProblems(pem: string, asymmetric: readonly JwtAlgorithm[]): string[] {
  if (pem.includes('PRIVATE KEY')) return ['keys.publicKeyPem: is a private key; configure the public key'];
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return ['keys.publicKeyPem: not a readable public key in PEM format'];
  }
  const type = key.asymmetricKeyType ?? '';
  const fits = asymmetric.some((algorithm) => keyTypesFor[algorithm.slice(0, 2)]?.includes(type));
  if (asymmetric.length > 0 && !fits) {
    return [`keys.publicKeyPem: a ${type} key fits none of the algorithms ${asymmetric.join(', ')}`];
  }
  return [];
}
