import type { Embedding } from '@rag/contracts/embedding-api';
import { byScoreThenId, type FusedHit } from './fusion.js';

/**
 * Late-interaction re-rank of the top candidates: score(q, d) = Σ over query tokens of the best dot product
 * with any passage token (MaxSim), over the model's normalised ColBERT vectors. The passages' ColBERT
 * vectors are recomputed for the candidates at query time rather than stored (README, ColBERT re-rank,
 * gives the storage and latency trade-off). The re-ranked candidates come first, by ColBERT score (their
 * `score` becomes it, and `scores.colbert` holds it); the others follow in their fused order.
 */
export interface ColbertSources {
  query: () => Promise<Embedding>;
  passages: (texts: string[]) => Promise<Embedding[]>;
  /** Texts of the visible candidates, by chunk id. */
  texts: (chunkIds: string[]) => Promise<Map<string, string>>;
}

export async function colbertRerank(
  ranked: FusedHit[],
  depth: number,
  sources: ColbertSources,
): Promise<FusedHit[]> {
  const head = ranked.slice(0, depth);
  if (head.length === 0) return ranked;
  const [query, texts] = await Promise.all([sources.query(), sources.texts(head.map((hit) => hit.chunkId))]);
  const queryVectors = query.colbert ?? [];
  const candidates = head.filter((hit) => texts.has(hit.chunkId));
  const passages =
    candidates.length > 0
      ? await sources.passages(candidates.map((hit) => texts.get(hit.chunkId) as string))
      : [];
  const rescored = candidates.map((hit, index) => {
    const score = maxSim(queryVectors, passages[index]?.colbert ?? []);
    return { ...hit, score, scores: { ...hit.scores, colbert: score } };
  });
  rescored.sort(byScoreThenId);
  rescored.forEach((hit, index) => {
    hit.ranks = { ...hit.ranks, colbert: index + 1 };
  });
  const rescoredIds = new Set(rescored.map((hit) => hit.chunkId));
  return [...rescored, ...ranked.filter((hit) => !rescoredIds.has(hit.chunkId))];
}

export function maxSim(query: number[][], passage: number[][]): number {
  let total = 0;
  for (const q of query) {
    let best = Number.NEGATIVE_INFINITY;
    for (const p of passage) {
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += (q[i] as number) * (p[i] ?? 0);
      if (dot > best) best = dot;
    }
    if (best > Number.NEGATIVE_INFINITY) total += best;
  }
  return total;
}
