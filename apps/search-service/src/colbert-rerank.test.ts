import type { Embedding } from '@rag/contracts/embedding-api';
import { describe, expect, it } from 'vitest';
import { type ColbertSources, colbertRerank, maxSim } from './colbert-rerank.js';
import type { FusedHit } from './fusion.js';

const hit = (chunkId: string, score: number): FusedHit => ({
  chunkId,
  documentId: `doc-${chunkId}`,
  score,
  scores: { dense: score },
  ranks: { dense: 1 },
});

/** Sources on fakes: each passage text names its ColBERT vectors; every call is recorded. */
function fakeSources(
  query: number[][],
  passages: Record<string, number[][]>,
  visible: Record<string, string>,
): ColbertSources & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async query(): Promise<Embedding> {
      calls.push('query');
      return { tokens: query.length, colbert: query };
    },
    async passages(texts) {
      calls.push(`passages ${texts.join(',')}`);
      return texts.map((text) => ({ tokens: 1, colbert: passages[text] ?? [] }));
    },
    async texts(chunkIds) {
      calls.push(`texts ${chunkIds.join(',')}`);
      return new Map(chunkIds.filter((id) => id in visible).map((id) => [id, visible[id]!]));
    },
  };
}

describe('maxSim', () => {
  it('adds, over the query tokens, the best dot product with any passage token', () => {
    // Token 1 matches the passage's second token (1), token 2 its first (0.5).
    expect(
      maxSim(
        [
          [1, 0],
          [0, 1],
        ],
        [
          [0.5, 0.5],
          [1, 0],
        ],
      ),
    ).toBe(1.5);
  });

  it('keeps a negative best, and counts nothing against an empty passage or query', () => {
    expect(maxSim([[1, 0]], [[-1, 0]])).toBe(-1);
    expect(maxSim([[1, 0]], [])).toBe(0);
    expect(maxSim([], [[1, 0]])).toBe(0);
  });
});

describe('colbertRerank', () => {
  const query = [
    [1, 0],
    [0, 1],
  ];
  const passages = {
    'text of a': [[1, 0]], // MaxSim 1 + 0 = 1
    'text of b': [
      [1, 0],
      [0, 1],
    ], // 2
    'text of c': [[0.6, 0.8]], // 1.4
  };

  it('re-ranks the first `depth` candidates by MaxSim and keeps the rest in their fused order', async () => {
    const ranked = [hit('a', 0.9), hit('b', 0.8), hit('c', 0.7), hit('d', 0.6)];
    const sources = fakeSources(query, passages, {
      a: 'text of a',
      b: 'text of b',
      c: 'text of c',
      d: 'text of d',
    });
    const reranked = await colbertRerank(ranked, 3, sources);
    expect(reranked.map((h) => [h.chunkId, h.score])).toEqual([
      ['b', 2],
      ['c', 1.4],
      ['a', 1],
      ['d', 0.6],
    ]);
    // The ColBERT score and rank stand beside the fused ones; the candidate past the depth is untouched.
    expect(reranked[0]).toMatchObject({
      scores: { dense: 0.8, colbert: 2 },
      ranks: { dense: 1, colbert: 1 },
    });
    expect(reranked[2]?.ranks).toEqual({ dense: 1, colbert: 3 });
    expect(reranked[3]).toEqual(hit('d', 0.6));
    // Only the head's texts are read and embedded, in one call each.
    expect(sources.calls.sort()).toEqual(['passages text of a,text of b,text of c', 'query', 'texts a,b,c']);
  });

  it('embeds no text the caller may not see: a candidate without visible text keeps its fused place after the re-ranked ones', async () => {
    const ranked = [hit('a', 0.9), hit('hidden', 0.8), hit('b', 0.7)];
    const sources = fakeSources(query, passages, { a: 'text of a', b: 'text of b' });
    const reranked = await colbertRerank(ranked, 3, sources);
    expect(reranked.map((h) => h.chunkId)).toEqual(['b', 'a', 'hidden']);
    expect(reranked[2]).toEqual(hit('hidden', 0.8));
    expect(sources.calls).toContain('passages text of a,text of b');
  });

  it('breaks equal ColBERT scores by chunk id', async () => {
    const ranked = [hit('y', 0.9), hit('x', 0.8)];
    const sources = fakeSources(query, passages, { x: 'text of a', y: 'text of a' });
    expect((await colbertRerank(ranked, 2, sources)).map((h) => h.chunkId)).toEqual(['x', 'y']);
  });

  it('asks nothing of the sources when there is nothing to re-rank', async () => {
    const sources = fakeSources(query, passages, {});
    expect(await colbertRerank([], 5, sources)).toEqual([]);
    expect(sources.calls).toEqual([]);
    // No visible candidate: the query is embedded, no passage is.
    const ranked = [hit('a', 0.9)];
    expect(await colbertRerank(ranked, 5, sources)).toEqual(ranked);
    expect(sources.calls.some((call) => call.startsWith('passages'))).toBe(false);
  });
});
