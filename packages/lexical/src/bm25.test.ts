import { describe, expect, it } from 'vitest';
import {
  bm25DocumentVector,
  bm25Idf,
  bm25QueryVector,
  defaultBm25Params,
  sparseDot,
  termFrequencies,
} from './bm25.js';

// Expected values below are worked out by hand from the BM25 formula with the defaults k1 = 0.9, b = 0.4,
// and with k1 = 1.2, b = 0.75 given explicitly.
describe('bm25DocumentVector', () => {
  it('uses k1 0.9 and b 0.4 unless told otherwise', () => {
    expect(defaultBm25Params).toEqual({ k1: 0.9, b: 0.4 });
    // |d| = avgdl, so the length factor is 1 and norm = k1 = 0.9: tf 2 -> 2·1.9/2.9, tf 1 -> 1.
    const vector = bm25DocumentVector([5, 7, 5, 9], 4);
    expect(vector.indices).toEqual([5, 7, 9]);
    expect(vector.values[0]).toBeCloseTo(3.8 / 2.9, 12);
    expect(vector.values[1]).toBeCloseTo(1, 12);
    expect(vector.values[2]).toBeCloseTo(1, 12);
    // avgdl 8: norm = 0.9·(0.6 + 0.4·4/8) = 0.72; tf 2 -> 3.8/2.72, tf 1 -> 1.9/1.72.
    const shorter = bm25DocumentVector([9, 5, 7, 5], 8);
    expect(shorter.values[0]).toBeCloseTo(3.8 / 2.72, 12);
    expect(shorter.values[1]).toBeCloseTo(1.9 / 1.72, 12);
  });

  it('saturates term frequencies for a chunk of average length', () => {
    // |d| = avgdl, so the length factor is 1 and norm = k1 = 1.2: tf 2 -> 2·2.2/3.2, tf 1 -> 1.
    const vector = bm25DocumentVector([5, 7, 5, 9], 4, { k1: 1.2, b: 0.75 });
    expect(vector.indices).toEqual([5, 7, 9]);
    expect(vector.values[0]).toBeCloseTo(1.375, 12);
    expect(vector.values[1]).toBeCloseTo(1, 12);
    expect(vector.values[2]).toBeCloseTo(1, 12);
  });

  it('lets shorter-than-average chunks score higher for the same term frequency', () => {
    // avgdl 8: norm = 1.2·(0.25 + 0.75·4/8) = 0.75; tf 2 -> 4.4/2.75 = 1.6, tf 1 -> 2.2/1.75.
    const vector = bm25DocumentVector([9, 5, 7, 5], 8, { k1: 1.2, b: 0.75 });
    expect(vector.indices).toEqual([5, 7, 9]);
    expect(vector.values[0]).toBeCloseTo(1.6, 12);
    expect(vector.values[1]).toBeCloseTo(2.2 / 1.75, 12);
  });

  it('ignores length when b = 0 and treats an empty collection as average length', () => {
    const noLength = bm25DocumentVector([1, 1, 1], 100, { k1: 2, b: 0 });
    expect(noLength.values[0]).toBeCloseTo((3 * 3) / (3 + 2), 12);
    expect(bm25DocumentVector([1, 2], 0)).toEqual(bm25DocumentVector([1, 2], 2));
  });

  it('rejects bad token ids and parameters', () => {
    expect(() => bm25DocumentVector([1, -2], 2)).toThrow(/non-negative integers/);
    expect(() => bm25DocumentVector([1.5], 2)).toThrow(/non-negative integers/);
    expect(() => bm25DocumentVector([1], 2, { k1: 0, b: 0.5 })).toThrow(/k1/);
    expect(() => bm25DocumentVector([1], 2, { k1: 1, b: 1.5 })).toThrow(/b must/);
  });

  it('returns an empty vector for an empty chunk', () => {
    expect(bm25DocumentVector([], 5)).toEqual({ indices: [], values: [] });
  });
});

describe('bm25Idf and bm25QueryVector', () => {
  it('computes IDF as ln(1 + (N − df + 0.5) / (df + 0.5))', () => {
    expect(bm25Idf(1, 10)).toBeCloseTo(Math.log(1 + 9.5 / 1.5), 12); // 1.99243
    expect(bm25Idf(10, 10)).toBeCloseTo(Math.log(1 + 0.5 / 10.5), 12); // 0.04652, still positive
    expect(bm25Idf(1, 10)).toBeGreaterThan(bm25Idf(5, 10));
  });

  it('weights each query token by IDF times its count and drops tokens no chunk has', () => {
    const stats = {
      chunkCount: 10,
      documentFrequency: new Map([
        [5, 1],
        [9, 10],
      ]),
    };
    const vector = bm25QueryVector([5, 3, 5, 9], stats);
    expect(vector.indices).toEqual([5, 9]);
    expect(vector.values[0]).toBeCloseTo(2 * Math.log(1 + 9.5 / 1.5), 12);
    expect(vector.values[1]).toBeCloseTo(Math.log(1 + 0.5 / 10.5), 12);
  });

  it('gives the BM25 score as the inner product of query and document vectors', () => {
    const stats = {
      chunkCount: 3,
      documentFrequency: new Map([
        [5, 1],
        [7, 2],
      ]),
    };
    const query = bm25QueryVector([5, 7], stats);
    const doc = bm25DocumentVector([5, 7, 5, 9], 4);
    const expected = bm25Idf(1, 3) * (3.8 / 2.9) + bm25Idf(2, 3) * 1;
    expect(sparseDot(query, doc)).toBeCloseTo(expected, 12);
  });
});

describe('termFrequencies', () => {
  it('counts ids in ascending order', () => {
    expect([...termFrequencies([3, 1, 3, 2, 3])]).toEqual([
      [1, 1],
      [2, 1],
      [3, 3],
    ]);
  });
});
