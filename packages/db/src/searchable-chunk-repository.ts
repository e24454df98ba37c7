import type { SearchFilter } from '@rag/contracts/search-filter';
import { type ChunkWithDocument, findSearchableChunks } from './chunk-repository.js';
import type { Queryable } from './pool.js';

export interface SearchScope {
  tenantId: string;
  collectionId: string;
  /** The caller's ACL principals; null for an unrestricted caller. */
  principals: string[] | null;
  filter?: SearchFilter | undefined;
}

/**
 * Chunk text and document fields for search hits, under the same conditions as the vector query: the
 * caller's tenant and collection, searchable documents only, the ACL rule and the metadata filter, in one
 * query driven from the given ids (findSearchableChunks). The vector query has already applied them;
 * repeating them in PostgreSQL, the source of truth, gives it the last word (a document being deleted or
 * re-versioned disappears at once).
 */
export async function findVisibleChunks(
  db: Queryable,
  scope: SearchScope,
  chunkIds: readonly string[],
): Promise<Map<string, ChunkWithDocument>> {
  return findSearchableChunks(db, scope, chunkIds);
}
