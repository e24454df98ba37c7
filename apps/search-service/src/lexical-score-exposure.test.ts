import { describe, expect, it } from 'vitest';
import type { FusedHit } from './fusion.js';
import { mayShowLexicalScores, withoutLexicalScores } from './lexical-score-exposure.js';

const ranked: FusedHit[] = [
  { chunkId: 'a', documentId: 'd1', score: 0.9, scores: { dense: 0.8, bm25: 7.25 } },
  { chunkId: 'b', documentId: 'd2', score: 0.4, scores: { bm25: 3.5 } },
];

describe('lexical score exposure', () => {
  it('shows BM25 scores only to unrestricted callers, and to none when Milvus keeps the statistics', () => {
    expect(mayShowLexicalScores(null, 'token-ids')).toBe(true);
    expect(mayShowLexicalScores([], 'token-ids')).toBe(false);
    expect(mayShowLexicalScores(['user:bob'], 'token-ids')).toBe(false);
    expect(mayShowLexicalScores(null, 'milvus-function')).toBe(false);
  });

  it('drops scores.bm25 and replaces a score BM25 took part in by the reciprocal rank, keeping the order', () => {
    expect(withoutLexicalScores(ranked, true)).toEqual([
      { chunkId: 'a', documentId: 'd1', score: 1 / 61, scores: { dense: 0.8 } },
      { chunkId: 'b', documentId: 'd2', score: 1 / 62, scores: {} },
    ]);
  });

  it("drops BM25's rank with its score and keeps the other signals' ranks", () => {
    const withRanks: FusedHit[] = [
      {
        chunkId: 'a',
        documentId: 'd1',
        score: 0.9,
        scores: { dense: 0.8, bm25: 7 },
        ranks: { dense: 2, bm25: 1 },
      },
    ];
    expect(withoutLexicalScores(withRanks, true)[0]?.ranks).toEqual({ dense: 2 });
  });

  it('keeps scores BM25 had no part in', () => {
    const dense: FusedHit[] = [{ chunkId: 'a', documentId: 'd1', score: 0.8, scores: { dense: 0.8 } }];
    expect(withoutLexicalScores(dense, false)).toEqual(dense);
  });
});
