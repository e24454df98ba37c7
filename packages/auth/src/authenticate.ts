import { AppError } from '@rag/contracts/app-error';
import { hashApiKey, looksLikeApiKey, secretMatcher } from './api-key.js';
import type { Principal } from './principal.js';

export interface StoredKey {
  id: string;
  tenantId: string;
  role: Principal['role'];
  collections: string[] | null;
  principals: string[] | null;
  expiresAt?: Date | null;
}

export interface AuthenticatorOptions {
  /** The bootstrap admin key from config; it acts as admin of the default tenant and of the system. */
  adminApiKey: string;
  defaultTenant: string;
  pepper: string;
  findKeyByHash: (hash: string) => Promise<StoredKey | undefined>;
  /** Verifies bearer tokens shaped like a JWT (see createJwtVerifier); without it such tokens are refused. */
  jwt?: (token: string) => Promise<Principal>;
}

/**
 * Three base64url segments. The signature may be empty so that an unsigned (`alg: none`) token still
 * reaches the verifier and is refused there with a reason, rather than as an unknown API key.
 */
const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type Authenticator = (authorization: string | undefined) => Promise<Principal>;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const isAdminKey = secretMatcher(options.adminApiKey);
  return async (authorization) => {
    if (!authorization) {
      throw new AppError(
        'unauthenticated',
        'Missing credential: send Authorization: Bearer <API key or JWT>',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      throw new AppError(
        'unauthenticated',
        'Malformed Authorization header: expected "Bearer <API key or JWT>"',
      );
    }
    const token = match[1]!;
    if (isAdminKey(token)) {
      return {
        tenantId: options.defaultTenant,
        role: 'admin',
        collections: null,
        system: true,
        keyId: null,
        subject: 'bootstrap-admin',
        principals: null,
      };
    }
    if (jwtShape.test(token)) {
      if (!options.jwt) throw new AppError('unauthenticated', 'JWT authentication is not configured');
      return options.jwt(token);
    }
    if (!looksLikeApiKey(token)) throw new AppError('unauthenticated', 'Invalid credential');
    const key = await options.findKeyByHash(hashApiKey(token, options.pepper));
    if (!key) throw new AppError('unauthenticated', 'Invalid or revoked credential');
    return {
      tenantId: key.tenantId,
      role: key.role,
      collections: key.collections,
      system: false,
      keyId: key.id,
      subject: `key:${key.id}`,
      principals: key.principals,
      expiresAt: key.expiresAt ?? null,
    };
  };
}
