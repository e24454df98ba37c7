import { AppError } from '@rag/contracts/app-error';
import type { Role } from '@rag/contracts/identifiers';

/** Who is calling, resolved from the credential. */
export interface Principal {
  tenantId: string;
  role: Role;
  /** Collections the credential is limited to; null means every collection of the tenant. */
  collections: string[] | null;
  /** The bootstrap admin may manage every tenant; tenant keys only their own. */
  system: boolean;
  keyId: string | null;
  /** The authenticated user or service (a JWT's `sub`), for logs and audit. */
  subject: string | null;
  /**
   * ACL principals (e.g. "user:alice", "group:finance") the caller acts as. A document with an ACL is
   * visible only when the lists share an entry. null means unrestricted within the tenant (a backend key).
   */
  principals: string[] | null;
  /**
   * When the credential stops working (an API key's expiry, a JWT's `exp`); null or absent means never.
   * Keys it creates may not outlive it.
   */
  expiresAt?: Date | null;
}

/** Roles in order of what they allow; each includes the ones below it. */
export const roleRank: Record<Role, number> = { reader: 1, editor: 2, admin: 3 };

export function requireRole(principal: Principal, needed: Role): void {
  if (roleRank[principal.role] < roleRank[needed]) {
    throw new AppError(
      'forbidden',
      `This action needs the ${needed} role; the credential has ${principal.role}`,
    );
  }
}

export function requireSystem(principal: Principal): void {
  if (!principal.system) throw new AppError('forbidden', 'Only the bootstrap admin credential may do this');
}

/** Tenant admins manage only their own tenant; the bootstrap admin manages all. */
export function requireTenantAdmin(principal: Principal, tenantId: string): void {
  requireRole(principal, 'admin');
  if (!principal.system && principal.tenantId !== tenantId) {
    throw new AppError('forbidden', `The credential cannot manage tenant ${tenantId}`);
  }
}

/**
 * A credential limited to some collections sees the others as missing (404), not forbidden, so that it
 * cannot probe which collections exist.
 */
export function canAccessCollection(principal: Principal, collection: string): boolean {
  return principal.collections === null || principal.collections.includes(collection);
}
