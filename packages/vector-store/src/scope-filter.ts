import { AppError } from '@rag/contracts/app-error';
import type { VectorScope } from './chunk-vector-store.js';
import { isMilvusAclValue, milvusAclValue } from './milvus-acl-value.js';

/**
 * Milvus boolean expressions are strings, so every id that goes into one is checked against a strict
 * alphabet first. Escaping alone would depend on the server's string-literal grammar (which has changed
 * between versions); an alphabet without quotes, backslashes, spaces or operators leaves nothing to escape.
 */
const safeIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** The longest id the pattern allows; also the VarChar max_length of the id fields. */
export const maxIdLength = 128;

/** Throws AppError('bad_request') unless `value` is a string in the safe id alphabet. */
export function assertSafeId(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !safeIdPattern.test(value)) {
    throw new AppError('bad_request', `${field} must be 1-${maxIdLength} letters, digits, "-" or "_"`, {
      context: { field },
    });
  }
}

/** The filter that confines a query to one tenant's collection; every search, count and delete uses it. */
export function scopeFilter(scope: VectorScope): string {
  assertSafeId('tenantId', scope.tenantId);
  assertSafeId('collectionId', scope.collectionId);
  return `tenant_id == "${scope.tenantId}" && collection_id == "${scope.collectionId}"`;
}

/** scopeFilter narrowed to one document. */
export function documentFilter(scope: VectorScope, documentId: string): string {
  assertSafeId('documentId', documentId);
  return `${scopeFilter(scope)} && document_id == "${documentId}"`;
}

/**
 * The ACL clause: public documents, or documents whose ACL shares a principal with the caller. Empty for
 * an unrestricted caller (null). Principals may hold any character; milvusAclValue gives each the form the
 * rows store, which has nothing to escape.
 */
export function aclFilter(principals: readonly string[] | null): string {
  if (principals === null) return '';
  if (principals.length === 0) return 'acl_public == true';
  const values = principals.map((principal) => {
    const value = milvusAclValue(principal);
    // Unreachable by construction; kept so a future change to the encoding cannot open the expression.
    if (!isMilvusAclValue(value))
      throw new AppError('internal', 'ACL principal encoding produced an unsafe value');
    return `"${value}"`;
  });
  return `(acl_public == true || array_contains_any(acl, [${[...new Set(values)].join(', ')}]))`;
}

/** scopeFilter plus the caller's ACL clause: what every search runs with. */
export function searchFilter(scope: VectorScope, principals: readonly string[] | null): string {
  const acl = aclFilter(principals);
  return acl ? `${scopeFilter(scope)} && ${acl}` : scopeFilter(scope);
}
