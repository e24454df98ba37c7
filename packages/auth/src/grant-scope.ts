import { AppError } from '@rag/contracts/app-error';
import type { Role } from '@rag/contracts/identifiers';
import { type Principal, roleRank } from './principal.js';

/** What an API key grants: the fields a credential may hand on only within its own. */
export interface Grant {
  role: Role;
  collections: string[] | null;
  principals: string[] | null;
  expiresAt: Date | null;
}

/**
 * Refuses (403) a new key that would grant more than the calling credential holds: a higher role, more
 * collections, fewer ACL restrictions or a longer life. Without this a key scoped to one collection could
 * mint a tenant-wide key. The bootstrap admin holds everything.
 */
export function requireGrantWithin(principal: Principal, grant: Grant): void {
  if (principal.system) return;
  if (roleRank[grant.role] > roleRank[principal.role]) {
    throw forbidden(`The credential has the ${principal.role} role and cannot create a ${grant.role} key`);
  }
  if (principal.collections !== null) {
    if (grant.collections === null) {
      throw forbidden(
        "The credential is limited to some collections, so the new key must list its collections (a subset of the credential's)",
      );
    }
    const outside = grant.collections.filter((c) => !principal.collections!.includes(c));
    if (outside.length > 0) {
      throw forbidden(`The credential cannot grant collections it does not hold: ${outside.join(', ')}`);
    }
  }
  if (principal.principals !== null) {
    if (grant.principals === null) {
      throw forbidden(
        "The credential acts as ACL principals, so the new key must list its principals (a subset of the credential's)",
      );
    }
    const outside = grant.principals.filter((p) => !principal.principals!.includes(p));
    if (outside.length > 0) {
      throw forbidden(`The credential cannot grant ACL principals it does not hold: ${outside.join(', ')}`);
    }
  }
  const limit = principal.expiresAt ?? null;
  if (limit !== null) {
    if (grant.expiresAt === null) {
      throw forbidden(`The credential expires at ${limit.toISOString()}, so the new key must set expires_at`);
    }
    if (grant.expiresAt.getTime() > limit.getTime()) {
      throw forbidden(
        `expires_at must not be later than the credential's own expiry (${limit.toISOString()})`,
      );
    }
  }
}

/**
 * Whether an existing key lies within the credential's scope, so that it may list or revoke it. A key
 * outside reads as missing: listing it would name collections or principals the caller may not know of.
 */
export function isGrantWithin(principal: Principal, grant: Grant): boolean {
  try {
    requireGrantWithin(principal, grant);
    return true;
  } catch {
    return false;
  }
}

function forbidden(message: string): AppError {
  return new AppError('forbidden', message);
}
