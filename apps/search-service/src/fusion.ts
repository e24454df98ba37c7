import type { FusionMethod, SignalName } from '@rag/contracts/search-api';

/**
 * Fuses the ranked lists of several signals into one ranking, in the service rather than in Milvus, so that
 * each signal's own score can be reported and the fusion can be the one measured best:
 *
 * - weighted (default): each list's scores normalised by their own distribution, the span from three
 *   standard deviations below their mean to three above mapped to [0, 1], then a weighted sum; a chunk
 *   missing from a list gets 0 there. Unlike min-max, one outlying top score does not squash the rest of its
 *   list. On jsquad-valid and cranfield it beats min-max and RRF with one setting (see README, Search quality).
 *   The fused score is not bounded: a score beyond mean + 3σ (a result that stands out) maps above 1, and is
 *   kept so, because clamping it at 1 ties the standouts (it cost 0.22 nDCG@10 on jsquad-valid) and widening
 *   the span to the list's own extremes, which would bound it, measured lower on both sets.
 * - rrf: Σ weight / (k + rank), rank counted from 1; scale-free but blind to score gaps.
 *
 * Ties break on the chunk id, so the order is a total order and pages never overlap or skip.
 */

export interface RankedHit {
  chunkId: string;
  documentId: string;
  score: number;
}

export interface FusedHit {
  chunkId: string;
  documentId: string;
  score: number;
  /** Each signal's raw score, where the chunk is in that signal's list. */
  scores: Partial<Record<SignalName, number>>;
  /** Each signal's rank (from 1) of the chunk in that signal's list: why a result stands where it does. */
  ranks?: Partial<Record<SignalName | 'colbert', number>>;
}

export type SignalLists = Partial<Record<SignalName, RankedHit[]>>;
export type SignalWeights = { [signal in SignalName]?: number | undefined };

export const rrfK = 60;

export function fuse(lists: SignalLists, weights: SignalWeights, method: FusionMethod): FusedHit[] {
  const fused = new Map<string, FusedHit>();
  for (const [signal, hits] of Object.entries(lists) as [SignalName, RankedHit[]][]) {
    const weight = weights[signal] ?? 0;
    const ranks = ranksOf(hits);
    const contribution =
      method === 'rrf' ? ranks.map((rank) => 1 / (rrfK + rank)) : distributionContributions(hits);
    hits.forEach((hit, index) => {
      let entry = fused.get(hit.chunkId);
      if (!entry) {
        entry = { chunkId: hit.chunkId, documentId: hit.documentId, score: 0, scores: {}, ranks: {} };
        fused.set(hit.chunkId, entry);
      }
      entry.scores[signal] = hit.score;
      (entry.ranks as Record<string, number>)[signal] = ranks[index] as number;
      entry.score += weight * (contribution[index] as number);
    });
  }
  return [...fused.values()].sort(byScoreThenId);
}

/** A single signal's list, in the same shape and order rules as a fused one. */
export function single(signal: SignalName, hits: RankedHit[]): FusedHit[] {
  return hits
    .map((hit) => ({
      chunkId: hit.chunkId,
      documentId: hit.documentId,
      score: hit.score,
      scores: { [signal]: hit.score },
    }))
    .sort(byScoreThenId)
    .map((hit, index) => ({ ...hit, ranks: { [signal]: index + 1 } }));
}

/** Each score as (score − (mean − 3σ)) / 6σ over its list (distribution-based score fusion). */
function distributionContributions(hits: RankedHit[]): number[] {
  if (hits.length === 0) return [];
  const mean = hits.reduce((sum, hit) => sum + hit.score, 0) / hits.length;
  const deviation = Math.sqrt(hits.reduce((sum, hit) => sum + (hit.score - mean) ** 2, 0) / hits.length);
  // One score (or all equal): every hit is as good as the best.
  if (!(deviation > 0)) return hits.map(() => 1);
  return hits.map((hit) => (hit.score - (mean - 3 * deviation)) / (6 * deviation));
}

/** Each hit's rank in its list, from 1: the list's score order with ties broken by id, like the fused order. */
function ranksOf(hits: RankedHit[]): number[] {
  const order = [...hits.keys()].sort((a, b) => byScoreThenId(hits[a] as RankedHit, hits[b] as RankedHit));
  const ranks = new Array<number>(hits.length);
  order.forEach((hitIndex, rank) => {
    ranks[hitIndex] = rank + 1;
  });
  return ranks;
}

export function byScoreThenId(
  a: { score: number; chunkId: string },
  b: { score: number; chunkId: string },
): number {
  return b.score - a.score || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0);
}

/** Caller weights over the signals in use, normalised to sum 1; unnamed signals get the default. */
export function resolveWeights(
  signals: readonly SignalName[],
  requested: SignalWeights | undefined,
  defaults: Record<SignalName, number>,
): Record<string, number> {
  const raw = signals.map(
    (signal) => [signal, requested?.[signal] ?? (requested ? 0 : defaults[signal])] as const,
  );
  const total = raw.reduce((sum, [, weight]) => sum + weight, 0);
  if (total <= 0) return Object.fromEntries(signals.map((signal) => [signal, 1 / signals.length]));
  return Object.fromEntries(raw.map(([signal, weight]) => [signal, weight / total]));
}
