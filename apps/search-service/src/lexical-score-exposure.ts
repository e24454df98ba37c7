import type { Bm25Source } from '@rag/vector-store/chunk-vector-store';
import type { FusedHit } from './fusion.js';
import { rrfK } from './fusion.js';

/**
 * BM25 scores are computed from corpus statistics (document frequencies, average chunk length) that count
 * every chunk they cover, visible to the caller or not. A raw BM25 score, or a score computed from one,
 * therefore tells a caller something about text it may not read: how many hidden chunks contain a term.
 *
 * - With our own BM25 (`token-ids`) the statistics are per collection, so they cover only the caller's
 *   tenant, but they include ACL-restricted documents: callers with principals see no lexical scores.
 * - Milvus's BM25 function keeps its statistics per shard of the whole Milvus collection, which every
 *   tenant shares (the tenant is only a partition key): no caller sees lexical scores in that mode.
 *
 * Without lexical scores `scores.bm25` is left out and, where BM25 took part in the ranking, `score` is
 * the reciprocal rank 1 / (60 + rank) of the final ranking, so it still orders the results. The order
 * itself is kept: it can still depend on hidden chunks through the relative weight of query terms.
 */
export function mayShowLexicalScores(principals: readonly string[] | null, bm25Source: Bm25Source): boolean {
  return principals === null && bm25Source === 'token-ids';
}

/** The ranking as it may be shown to a caller who may not see lexical scores (same order, same hits). */
export function withoutLexicalScores(ranked: readonly FusedHit[], bm25Used: boolean): FusedHit[] {
  return ranked.map((hit, index) => {
    const { bm25: _hidden, ...scores } = hit.scores;
    const shown = { ...hit, scores, score: bm25Used ? 1 / (rrfK + index + 1) : hit.score };
    if (hit.ranks) {
      // The rank among BM25's candidates comes from the same statistics as its score.
      const { bm25: _hiddenRank, ...ranks } = hit.ranks;
      shown.ranks = ranks;
    }
    return shown;
  });
}
