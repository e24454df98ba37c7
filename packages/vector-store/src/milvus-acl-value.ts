import { createHash } from 'node:crypto';
import { AppError } from '@rag/contracts/app-error';

/**
 * ACL principals are opaque strings (a JWT's `sub` such as `auth0|abc`, a group named `R&D team`), but a
 * Milvus filter is an expression string. Rather than depend on the server's string-literal escapes (which
 * have changed between versions), every principal is stored in the `acl` field and compared in filters in
 * a form drawn from an alphabet without quotes, backslashes, spaces or operators:
 *
 * - a principal already in that alphabet stands for itself, which is how rows were always written, so
 *   collections written before need no migration;
 * - any other principal becomes `sha256~` and the base64url SHA-256 of its UTF-8 bytes. `~` is outside the
 *   plain alphabet, so no plain principal can equal a hashed one, and the hash fits the field's 256 bytes
 *   whatever the principal's length in bytes.
 *
 * Ingestion, the doctor's repair (both through the store's row builder) and search all go through this one
 * function, so stored rows and filters always agree. PostgreSQL keeps the principals as they are.
 */
export const maxPrincipalLength = 256;

const plainPrincipal = /^[A-Za-z0-9_.:@/+=-]+$/;
const hashedPrefix = 'sha256~';

/** What the Milvus `acl` field holds, and what filters compare, for one principal. */
export function milvusAclValue(principal: unknown): string {
  if (typeof principal !== 'string' || principal.length === 0 || principal.length > maxPrincipalLength) {
    throw new AppError('bad_request', `ACL principals must be strings of 1-${maxPrincipalLength} characters`);
  }
  if (plainPrincipal.test(principal)) return principal;
  return hashedPrefix + createHash('sha256').update(principal, 'utf8').digest('base64url');
}

/** True for every string milvusAclValue can return: safe to place between double quotes in a filter. */
export function isMilvusAclValue(value: string): boolean {
  return /^[A-Za-z0-9_.:@/+=~-]{1,256}$/.test(value);
}
