/**
 * Per-document access: a document without an ACL is visible to every caller of its tenant; one with an
 * ACL only to callers sharing a principal with it. Callers without principals (null) are unrestricted
 * backends. The same rule is compiled into the Milvus and PostgreSQL filters of search.
 */
export function aclAllows(
  documentAcl: readonly string[] | null,
  callerPrincipals: readonly string[] | null,
): boolean {
  if (callerPrincipals === null) return true;
  if (documentAcl === null || documentAcl.length === 0) return true;
  return documentAcl.some((p) => callerPrincipals.includes(p));
}
