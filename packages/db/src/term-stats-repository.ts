import type { CollectionModel } from './collection-repository.js';
import type { Queryable } from './pool.js';

/**
 * Per-collection BM25 statistics and the collection's index version. Triggers on the chunks and documents
 * tables keep them (migration 4); this module only reads them.
 */

export interface CollectionIndexStats {
  /** Chunks that carry token ids. */
  chunkCount: number;
  /** Sum of their lengths in tokens. */
  totalTokens: number;
  /** Bumped by every write that can change the collection's search results. */
  indexVersion: number;
}

export interface CollectionTermStats extends CollectionIndexStats {
  /** Chunks containing each requested token id; ids no chunk contains are absent. */
  documentFrequency: Map<number, number>;
}

const emptyStats: CollectionIndexStats = { chunkCount: 0, totalTokens: 0, indexVersion: 0 };

export async function readCollectionIndexStats(
  db: Queryable,
  collectionId: string,
): Promise<CollectionIndexStats> {
  const { rows } = await db.query<{ chunk_count: string; total_tokens: string; index_version: string }>(
    `SELECT chunk_count, total_tokens, index_version FROM collection_index_stats WHERE collection_id = $1`,
    [collectionId],
  );
  const row = rows[0];
  if (!row) return { ...emptyStats };
  return {
    chunkCount: Number(row.chunk_count),
    totalTokens: Number(row.total_tokens),
    indexVersion: Number(row.index_version),
  };
}

/**
 * The collection's counts and the document frequency of the given token ids, in one round trip. Each token
 * id is one primary-key lookup (a LATERAL subquery with LIMIT is never flattened), so the cost follows the
 * query's length, never the collection's vocabulary, whatever PostgreSQL's statistics say.
 */
export async function readCollectionTermStats(
  db: Queryable,
  collectionId: string,
  tokenIds: readonly number[],
): Promise<CollectionTermStats> {
  const { rows } = await db.query<TermStatsRow>(
    `SELECT s.chunk_count, s.total_tokens, s.index_version, ${termFrequencies} AS frequencies
       FROM (SELECT 1) one
       LEFT JOIN collection_index_stats s ON s.collection_id = $1`,
    [collectionId, [...new Set(tokenIds)]],
  );
  return termStatsOf(rows[0]);
}

/**
 * What a BM25 search reads before it asks Milvus, in one round trip: the collection's index version and model
 * (as `readCollectionSearchState`, read together) and its BM25 statistics for the query's token ids, all from
 * one snapshot. Undefined values when the collection does not exist: index version 0, no model, no statistics.
 */
export async function readSearchStateWithTermStats(
  db: Queryable,
  collectionId: string,
  tokenIds: readonly number[],
): Promise<{ indexVersion: number; model?: CollectionModel; termStats: CollectionTermStats }> {
  const { rows } = await db.query<
    TermStatsRow & { embedding_model: string | null; embedding_manifest_hash: string | null }
  >({
    // Read by every BM25 and hybrid search: a prepared statement of each connection, parsed and planned once.
    name: 'search-state-with-term-stats',
    text: `SELECT s.chunk_count, s.total_tokens, s.index_version, ${termFrequencies} AS frequencies,
            c.embedding_model, c.embedding_manifest_hash
       FROM collections c LEFT JOIN collection_index_stats s ON s.collection_id = c.id
      WHERE c.id = $1`,
    values: [collectionId, [...new Set(tokenIds)]],
  });
  const row = rows[0];
  const termStats = termStatsOf(row);
  return {
    indexVersion: termStats.indexVersion,
    ...(row?.embedding_model && row.embedding_manifest_hash
      ? { model: { name: row.embedding_model, manifestHash: row.embedding_manifest_hash } }
      : {}),
    termStats,
  };
}

interface TermStatsRow {
  chunk_count: string | null;
  total_tokens: string | null;
  index_version: string | null;
  frequencies: [number, number][] | null;
}

/** The document frequencies of the token ids $2 in collection $1: one primary-key lookup per token id. */
const termFrequencies = `(SELECT json_agg(json_build_array(wanted.token_id, t.chunk_frequency))
               FROM unnest($2::int[]) AS wanted(token_id)
              CROSS JOIN LATERAL (
                SELECT chunk_frequency FROM collection_term_stats
                 WHERE collection_id = $1 AND token_id = wanted.token_id LIMIT 1) t)`;

function termStatsOf(row: TermStatsRow | undefined): CollectionTermStats {
  return {
    chunkCount: Number(row?.chunk_count ?? 0),
    totalTokens: Number(row?.total_tokens ?? 0),
    indexVersion: Number(row?.index_version ?? 0),
    documentFrequency: new Map(row?.frequencies ?? []),
  };
}

/** Average chunk length in tokens, counting chunks about to be added; 0 when there are none. */
export function averageChunkLength(
  stats: Pick<CollectionIndexStats, 'chunkCount' | 'totalTokens'>,
  adding: { chunks: number; tokens: number } = { chunks: 0, tokens: 0 },
): number {
  const chunks = stats.chunkCount + adding.chunks;
  return chunks > 0 ? (stats.totalTokens + adding.tokens) / chunks : 0;
}
