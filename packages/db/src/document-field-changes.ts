import type { DocumentRecord } from './document-repository.js';

/** The fields of a document that can change without new content: none of them needs re-embedding. */
export interface DocumentFields {
  title: string | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
}

export type DocumentFieldName = keyof DocumentFields;

/** The fields of `next` that differ from the document's (an empty ACL is the same as none). */
export function changedFields(document: DocumentRecord, next: Partial<DocumentFields>): DocumentFieldName[] {
  const changed: DocumentFieldName[] = [];
  if (next.title !== undefined && next.title !== document.title) changed.push('title');
  if (next.metadata !== undefined && !sameJson(next.metadata, document.metadata)) changed.push('metadata');
  if (next.acl !== undefined && !sameAcl(next.acl, document.acl)) changed.push('acl');
  return changed;
}

function sameJson(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

function sameAcl(a: string[] | null, b: string[] | null): boolean {
  const left = [...new Set(a ?? [])].sort();
  const right = [...new Set(b ?? [])].sort();
  return left.length === right.length && left.every((p, i) => p === right[i]);
}
