import { describe, expect, it } from 'vitest';
import { fuse, resolveWeights, rrfK, single } from './fusion.js';

const hit = (chunkId: string, score: number) => ({ chunkId, documentId: `doc-${chunkId}`, score });

describe('fuse (weighted)', () => {
  it('normalises each list by its mean and deviation and adds the weighted parts', () => {
    const fused = fuse(
      {
        dense: [hit('a', 0.9), hit('b', 0.7), hit('c', 0.5)],
        bm25: [hit('c', 12), hit('a', 2)],
      },
      { dense: 0.5, bm25: 0.5 },
      'weighted',
    );
    // dense: mean 0.7, σ = √(0.08/3); a = 0.5 + 0.2/6σ, b = 0.5, c = 0.5 − 0.2/6σ.
    // bm25: mean 7, σ 5; c = (12 − (7 − 15)) / 30 = 2/3, a = (2 − (7 − 15)) / 30 = 1/3.
    const spread = 0.2 / (6 * Math.sqrt(0.08 / 3));
    const expected = { a: 0.5 * (0.5 + spread) + 0.5 / 3, b: 0.25, c: 0.5 * (0.5 - spread) + 1 / 3 };
    expect(fused.map((f) => f.chunkId)).toEqual(['a', 'c', 'b']);
    for (const f of fused) expect(f.score).toBeCloseTo(expected[f.chunkId as 'a' | 'b' | 'c'], 12);
    expect(fused[1]?.scores).toEqual({ dense: 0.5, bm25: 12 });
    // Each signal's own rank beside its score: c was last by meaning and first by its words.
    expect(fused.map((f) => [f.chunkId, f.ranks])).toEqual([
      ['a', { dense: 1, bm25: 2 }],
      ['c', { dense: 3, bm25: 1 }],
      ['b', { dense: 2 }],
    ]);
  });

  it('keeps standouts beyond mean + 3σ above 1 and apart, not clamped into a tie', () => {
    const bulk = Array.from({ length: 38 }, (_, i) => hit(`f${String(i).padStart(2, '0')}`, 1));
    const fused = fuse({ bm25: [hit('top', 100), hit('next', 99), ...bulk] }, { bm25: 1 }, 'weighted');
    // mean 5.925, σ = √(18434.675/40): both standouts lie beyond mean + 3σ ≈ 70.3.
    const mean = 237 / 40;
    const sigma = Math.sqrt((94.075 ** 2 + 93.075 ** 2 + 38 * 4.925 ** 2) / 40);
    const expected = (score: number) => (score - (mean - 3 * sigma)) / (6 * sigma);
    expect(fused.slice(0, 2).map((f) => f.chunkId)).toEqual(['top', 'next']);
    expect(fused[0]?.score).toBeCloseTo(expected(100), 12);
    expect(fused[1]?.score).toBeCloseTo(expected(99), 12);
    expect(fused[1]?.score).toBeGreaterThan(1);
    expect(fused[0]?.score).toBeGreaterThan(fused[1]?.score as number);
  });

  it('breaks ties by chunk id and scores a one-hit list as 1', () => {
    const fused = fuse(
      { dense: [hit('z', 0.3)], bm25: [hit('y', 4)] },
      { dense: 0.5, bm25: 0.5 },
      'weighted',
    );
    expect(fused.map((f) => [f.chunkId, f.score])).toEqual([
      ['y', 0.5],
      ['z', 0.5],
    ]);
  });
});

describe('fuse (rrf)', () => {
  it('sums weight / (k + rank)', () => {
    const fused = fuse(
      { dense: [hit('a', 0.9), hit('b', 0.8)], bm25: [hit('b', 5)] },
      { dense: 1, bm25: 1 },
      'rrf',
    );
    expect(fused[0]?.chunkId).toBe('b');
    expect(fused[0]?.score).toBeCloseTo(1 / (rrfK + 2) + 1 / (rrfK + 1), 12);
    expect(fused[1]?.score).toBeCloseTo(1 / (rrfK + 1), 12);
  });
});

describe('fuse (either method)', () => {
  it('ranks each list by score then chunk id, whatever order it came in', () => {
    const fused = fuse({ dense: [hit('c', 0.5), hit('a', 0.9), hit('b', 0.5)] }, { dense: 1 }, 'rrf');
    // b and c tie at 0.5: b, the lower id, takes rank 2.
    expect(fused.map((f) => [f.chunkId, f.ranks])).toEqual([
      ['a', { dense: 1 }],
      ['b', { dense: 2 }],
      ['c', { dense: 3 }],
    ]);
    expect(fused[1]?.score).toBeCloseTo(1 / (rrfK + 2), 12);
  });

  it('keeps the scores and ranks of a signal weighted 0 without letting it move the order', () => {
    for (const method of ['weighted', 'rrf'] as const) {
      const fused = fuse(
        { dense: [hit('a', 0.9), hit('b', 0.8)], bm25: [hit('b', 9), hit('c', 1)] },
        { dense: 1, bm25: 0 },
        method,
      );
      expect(fused.map((f) => f.chunkId)).toEqual(['a', 'b', 'c']);
      expect(fused.find((f) => f.chunkId === 'c')).toMatchObject({
        score: 0,
        scores: { bm25: 1 },
        ranks: { bm25: 2 },
      });
    }
  });

  it('answers nothing for empty lists', () => {
    expect(fuse({ dense: [], bm25: [] }, { dense: 0.5, bm25: 0.5 }, 'weighted')).toEqual([]);
    expect(fuse({}, {}, 'rrf')).toEqual([]);
  });
});

describe('single', () => {
  it("keeps one signal's raw scores, ordered by score then chunk id, with its ranks", () => {
    expect(single('bm25', [hit('b', 2), hit('c', 7), hit('a', 2)])).toEqual([
      { chunkId: 'c', documentId: 'doc-c', score: 7, scores: { bm25: 7 }, ranks: { bm25: 1 } },
      { chunkId: 'a', documentId: 'doc-a', score: 2, scores: { bm25: 2 }, ranks: { bm25: 2 } },
      { chunkId: 'b', documentId: 'doc-b', score: 2, scores: { bm25: 2 }, ranks: { bm25: 3 } },
    ]);
    expect(single('dense', [])).toEqual([]);
  });
});

describe('resolveWeights', () => {
  const defaults = { dense: 0.5, sparse: 0.2, bm25: 0.5 };
  it('normalises the defaults over the signals in use', () => {
    expect(resolveWeights(['dense', 'bm25'], undefined, defaults)).toEqual({ dense: 0.5, bm25: 0.5 });
  });
  it('takes caller weights, unnamed signals counting 0', () => {
    expect(resolveWeights(['dense', 'bm25'], { dense: 0.3 }, defaults)).toEqual({ dense: 1, bm25: 0 });
    expect(resolveWeights(['dense', 'bm25'], { dense: 0.25, bm25: 0.75 }, defaults)).toEqual({
      dense: 0.25,
      bm25: 0.75,
    });
  });
  it('splits evenly when every weight is 0', () => {
    expect(resolveWeights(['dense', 'sparse', 'bm25'], { dense: 0, bm25: 0 }, defaults)).toEqual({
      dense: 1 / 3,
      sparse: 1 / 3,
      bm25: 1 / 3,
    });
  });
});
