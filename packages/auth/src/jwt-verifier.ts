import { createPublicKey } from 'node:crypto';
import { AppError, isAppError } from '@rag/contracts/app-error';
import { type Role, roles } from '@rag/contracts/identifiers';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { type JwtClaimNames, type JwtConfig, type JwtOptions, resolveJwtConfig } from './jwt-config.js';
import type { Principal } from './principal.js';

export type JwtVerifier = (token: string) => Promise<Principal>;

/** Why a token was turned away; also put in the error's context for logs and metrics. */
export type JwtRejectionReason =
  | 'expired'
  | 'not yet valid'
  | 'wrong issuer'
  | 'wrong audience'
  | 'bad signature'
  | 'unknown key'
  | 'ambiguous key'
  | 'algorithm not allowed'
  | 'malformed token'
  | 'missing claim'
  | 'invalid claim'
  | 'unverifiable';

const tenantPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Verifies a JWT against the configured issuer, audience, algorithms and keys, and maps its claims to a
 * Principal. Invalid options throw JwtConfigError here, at start-up, not on the first request.
 *
 * With `keys.jwksUrl`, jose's remote key set fetches the JWKS on first use, keeps it for 10 minutes, and
 * refetches early when a token names a `kid` it does not hold, which is how a key rotated in at the
 * identity provider is picked up; such refetches happen at most once per `jwksCooldownMs`, so tokens with
 * made-up key ids cannot flood the identity provider. A JWKS that cannot be fetched is a
 * `dependency_unavailable` error (503, retryable), not the caller's fault.
 */
export function createJwtVerifier(options: JwtOptions): JwtVerifier {
  const config = resolveJwtConfig(options);
  const getKey = keyResolver(config);
  const verifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    // Pinned here so that the token's own `alg` header never chooses how it is checked.
    algorithms: [...config.algorithms],
    clockTolerance: config.clockToleranceSec,
    requiredClaims: ['exp', 'sub'],
  };

  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (error) {
      throw rejection(error);
    }
    return toPrincipal(payload, config.claims);
  };
}

function keyResolver(config: JwtConfig): JWTVerifyGetKey {
  const { keys } = config;
  if (keys.secret !== undefined) {
    const secret = new TextEncoder().encode(keys.secret);
    return async () => secret;
  }
  if (keys.publicKeyPem !== undefined) {
    const publicKey = createPublicKey(keys.publicKeyPem);
    return async () => publicKey;
  }
  if (keys.jwks !== undefined) return createLocalJWKSet(keys.jwks);
  if (keys.jwksUrl !== undefined) {
    const remote = createRemoteJWKSet(new URL(keys.jwksUrl), { cooldownDuration: config.jwksCooldownMs });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (isKeySelectionError(error)) throw error;
        throw new AppError(
          'dependency_unavailable',
          'Cannot fetch the identity provider signing keys (JWKS)',
          {
            cause: error,
            context: { jwksUrl: keys.jwksUrl },
          },
        );
      }
    };
  }
  // resolveJwtConfig guarantees a key source; reaching this is a bug in it.
  throw new AppError('internal', 'JWT configuration has no key source');
}

function isKeySelectionError(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys;
}

/**
 * Turns a jose error into a 401 that names the reason class. jose errors carry the decoded payload, so
 * neither the error nor its message is passed on: nothing from the token reaches the caller or the logs.
 */
function rejection(error: unknown): AppError {
  if (isAppError(error)) return error;
  const reject = (reason: JwtRejectionReason, detail: string = reason) =>
    new AppError('unauthenticated', `Invalid bearer token: ${detail}`, { context: { reason } });

  if (error instanceof errors.JWTExpired) return reject('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    // `claim` is a claim name jose checked (iss, aud, nbf, ...), never a value from the token.
    const claim = error.claim;
    if (error.reason === 'missing') return reject('missing claim', `missing ${claim} claim`);
    if (error.reason === 'check_failed') {
      if (claim === 'nbf') return reject('not yet valid');
      if (claim === 'iss') return reject('wrong issuer');
      if (claim === 'aud') return reject('wrong audience');
    }
    return reject('invalid claim', `invalid ${claim} claim`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return reject('bad signature');
  if (error instanceof errors.JWKSNoMatchingKey) return reject('unknown key');
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return reject('ambiguous key', 'ambiguous key (the token names no kid and several keys fit)');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return reject('algorithm not allowed');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return reject('malformed token');
  // e.g. a key that does not fit the token's algorithm (an RSA key for an ES256 token).
  return reject('unverifiable', 'cannot be verified with the configured keys');
}

function toPrincipal(payload: JWTPayload, claims: JwtClaimNames): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') throw invalidClaim('sub');

  const tenant = readClaim(payload, claims.tenant);
  if (typeof tenant !== 'string' || !tenantPattern.test(tenant)) {
    throw new AppError(
      'unauthenticated',
      `Invalid bearer token: missing or invalid tenant claim "${claims.tenant}" (expected a tenant id)`,
      { context: { reason: 'invalid claim' satisfies JwtRejectionReason } },
    );
  }
  const groups = stringList(payload, claims.groups) ?? [];
  const collections = stringList(payload, claims.collections);

  // Authentication problems above come first: a broken token is a 401 even when it also lacks a role.
  const role = highestRole(readClaim(payload, claims.roles));
  if (!role) {
    throw new AppError(
      'forbidden',
      `The token grants none of the roles ${roles.join(', ')} (claim "${claims.roles}")`,
    );
  }
  return {
    tenantId: tenant,
    role,
    collections,
    system: false,
    keyId: null,
    subject: sub,
    principals: [`user:${sub}`, ...groups.map((group) => `group:${group}`)],
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
  };
}

function highestRole(value: unknown): Role | undefined {
  const granted = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  // `roles` is ordered admin, editor, reader: the first one granted is the highest.
  return roles.find((role) => granted.includes(role));
}

/** A claim that is absent (undefined), a single string, or an array of strings; anything else is a 401. */
function stringList(payload: JWTPayload, name: string): string[] | null {
  const value = readClaim(payload, name);
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item): item is string => typeof item === 'string')) return value;
  throw invalidClaim(name);
}

function invalidClaim(name: string): AppError {
  return new AppError('unauthenticated', `Invalid bearer token: invalid ${name} claim`, {
    context: { reason: 'invalid claim' satisfies JwtRejectionReason },
  });
}

/**
 * A claim by its exact name first (namespaced claims like `https://example.com/roles` contain dots), then
 * as a dotted path into nested objects (Keycloak's `realm_access.roles`).
 */
function readClaim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
