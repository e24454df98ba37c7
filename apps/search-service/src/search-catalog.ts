import type { ChunkWithDocument } from '@rag/db/chunk-repository';
import type { CollectionModel } from '@rag/db/collection-repository';
import type { Queryable } from '@rag/db/pool';
import { readCollectionSearchState } from '@rag/db/reindex-repository';
import { findVisibleChunks, type SearchScope } from '@rag/db/searchable-chunk-repository';
import {
  type CollectionTermStats,
  readCollectionTermStats,
  readSearchStateWithTermStats,
} from '@rag/db/term-stats-repository';

/** The collection's index version and the model it records, read together. */
export interface SearchState {
  indexVersion: number;
  model?: CollectionModel;
}

/** What a search reads from PostgreSQL, the source of truth: the collection's state, BM25 statistics and chunks. */
export interface SearchCatalog {
  /** The collection's index version and the model it records, read together. */
  searchState(collectionId: string): Promise<SearchState>;
  /**
   * The same state and the collection's BM25 statistics for the given term ids, in one read: a BM25 search
   * needs both before it can ask Milvus.
   */
  searchStateWithTermStats(
    collectionId: string,
    termIds: readonly number[],
  ): Promise<SearchState & { termStats: CollectionTermStats }>;
  /** The collection's BM25 statistics for the given term ids. */
  termStats(collectionId: string, termIds: readonly number[]): Promise<CollectionTermStats>;
  /** The chunks among these ids that the scope (tenant, collection, ACL, metadata filter) may see now. */
  visibleChunks(scope: SearchScope, chunkIds: readonly string[]): Promise<Map<string, ChunkWithDocument>>;
}

/** The catalog on PostgreSQL, as the service runs it. */
export function postgresSearchCatalog(pool: Queryable): SearchCatalog {
  return {
    searchState: (collectionId) => readCollectionSearchState(pool, collectionId),
    searchStateWithTermStats: (collectionId, termIds) =>
      readSearchStateWithTermStats(pool, collectionId, termIds),
    termStats: (collectionId, termIds) => readCollectionTermStats(pool, collectionId, termIds),
    visibleChunks: (scope, chunkIds) => findVisibleChunks(pool, scope, chunkIds),
  };
}
