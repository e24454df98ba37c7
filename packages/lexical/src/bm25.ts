/**
 * Okapi BM25 split into two sparse vectors whose inner product is the BM25 score, so a vector engine can
 * rank by it: the document side carries each term's saturated term frequency, the query side each term's
 * IDF. Terms are ids of the analyzer's terms (`analyzer.ts`: words, CJK character bigrams), the same ids in
 * the stored vectors, the statistics tables and the query.
 *
 *   score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))
 */

export interface SparseTermVector {
  /** Term ids, ascending and unique. */
  indices: number[];
  values: number[];
}

export interface Bm25Params {
  /** Term-frequency saturation: how quickly repeated terms stop adding to the score. */
  k1: number;
  /** Length normalisation: 0 ignores document length, 1 normalises fully by |d| / avgdl. */
  b: number;
}

/**
 * k1 0.9, b 0.4: Anserini's defaults for BEIR and MS MARCO passages, which suit chunks (short, of similar
 * length) better than Lucene's 1.2 / 0.75 for long documents: less term-frequency saturation and less length
 * normalisation. On both evaluation sets they lifted the default hybrid (README, Search quality); the smaller b
 * also shrinks what a chunk's length normalisation, fixed when it is indexed, drifts from the collection's
 * current average. Chunks indexed under other parameters keep them until `pnpm doctor --reindex`.
 */
export const defaultBm25Params: Bm25Params = { k1: 0.9, b: 0.4 };

/** What the query side needs from a collection: its size and how many chunks contain each term. */
export interface CollectionTermStats {
  chunkCount: number;
  documentFrequency: ReadonlyMap<number, number>;
}

export function assertBm25Params(params: Bm25Params): void {
  if (!(Number.isFinite(params.k1) && params.k1 > 0)) {
    throw new RangeError(`BM25 k1 must be a positive number, got ${params.k1}`);
  }
  if (!(Number.isFinite(params.b) && params.b >= 0 && params.b <= 1)) {
    throw new RangeError(`BM25 b must be between 0 and 1, got ${params.b}`);
  }
}

/** How often each term id occurs, in ascending id order. */
export function termFrequencies(termIds: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of termIds) {
    if (!Number.isInteger(id) || id < 0)
      throw new RangeError(`term ids must be non-negative integers, got ${id}`);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].sort((a, b) => a[0] - b[0]));
}

/**
 * The document side: per distinct term, tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl)). `averageLength` is the
 * collection's average chunk length in terms; a non-positive one (empty collection) counts as |d|.
 */
export function bm25DocumentVector(
  termIds: readonly number[],
  averageLength: number,
  params: Bm25Params = defaultBm25Params,
): SparseTermVector {
  assertBm25Params(params);
  const length = termIds.length;
  const avgdl = Number.isFinite(averageLength) && averageLength > 0 ? averageLength : Math.max(length, 1);
  const norm = params.k1 * (1 - params.b + (params.b * length) / avgdl);
  const indices: number[] = [];
  const values: number[] = [];
  for (const [id, tf] of termFrequencies(termIds)) {
    indices.push(id);
    values.push((tf * (params.k1 + 1)) / (tf + norm));
  }
  return { indices, values };
}

/**
 * Robertson–Spärck Jones IDF with Lucene's +1 inside the log, so it stays positive for terms in more than
 * half of the chunks (a plain RSJ IDF would turn them into penalties).
 */
export function bm25Idf(documentFrequency: number, chunkCount: number): number {
  const df = Math.min(Math.max(documentFrequency, 0), chunkCount);
  return Math.log(1 + (chunkCount - df + 0.5) / (df + 0.5));
}

/**
 * The query side: per distinct term, idf × its count in the query (a repeated query term counts each
 * time, as in the sum above). Terms no chunk contains are left out: they cannot match anything.
 */
export function bm25QueryVector(termIds: readonly number[], stats: CollectionTermStats): SparseTermVector {
  const indices: number[] = [];
  const values: number[] = [];
  for (const [id, count] of termFrequencies(termIds)) {
    const df = stats.documentFrequency.get(id) ?? 0;
    if (df <= 0) continue;
    indices.push(id);
    values.push(count * bm25Idf(df, stats.chunkCount));
  }
  return { indices, values };
}

/** Sum of idf·saturated tf over the shared terms: what the vector engine computes from the two vectors. */
export function sparseDot(a: SparseTermVector, b: SparseTermVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.indices.length && j < b.indices.length) {
    const ai = a.indices[i] as number;
    const bj = b.indices[j] as number;
    if (ai === bj) {
      sum += (a.values[i] as number) * (b.values[j] as number);
      i++;
      j++;
    } else if (ai < bj) i++;
    else j++;
  }
  return sum;
}
