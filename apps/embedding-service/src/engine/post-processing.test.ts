import { describe, expect, it } from 'vitest';
import { colbertEmbedding, denseEmbedding, l2Normalize, sparseEmbedding } from './post-processing.js';

const tensor = (dims: number[], values: number[]) => ({ data: Float32Array.from(values), dims });

describe('l2Normalize', () => {
  it('scales to unit length', () => {
    expect(l2Normalize([3, 4])).toEqual([0.6, 0.8]);
  });

  it('leaves a zero vector at zero instead of NaN', () => {
    expect(l2Normalize([0, 0])).toEqual([0, 0]);
  });
});

describe('denseEmbedding', () => {
  // Two rows, three positions, two dims; row 1 has two real tokens and one padding position.
  const hidden = tensor([2, 3, 2], [1, 0, 0, 1, 5, 5, 3, 4, 1, 2, 100, 100]);

  it("takes the graph's pooled vector as it is with pooling 'none'", () => {
    const pooled = tensor([2, 2], [1, 2, 3, 4]);
    expect(denseEmbedding(pooled, 1, 3, 'none', false)).toEqual([3, 4]);
    expect(denseEmbedding(pooled, 1, 3, 'none', true)).toEqual([0.6, 0.8]);
  });

  it("takes the first token with pooling 'cls' (BGE-M3)", () => {
    expect(denseEmbedding(hidden, 1, 2, 'cls', true)).toEqual([0.6, 0.8]);
  });

  it("averages only the real tokens with pooling 'mean'", () => {
    // Row 1: mean of [3,4] and [1,2] = [2,3]; the padding [100,100] is ignored.
    expect(denseEmbedding(hidden, 1, 2, 'mean', false)).toEqual([2, 3]);
    const [x, y] = denseEmbedding(hidden, 1, 2, 'mean', true);
    expect(x).toBeCloseTo(2 / Math.sqrt(13), 12);
    expect(y).toBeCloseTo(3 / Math.sqrt(13), 12);
  });

  it('refuses an output whose rank does not fit the pooling', () => {
    expect(() => denseEmbedding(hidden, 0, 3, 'none', true)).toThrow(/rank 2/);
  });
});

describe('sparseEmbedding', () => {
  const specials = new Set([0, 1, 2, 3]);

  it('keeps the maximum weight per token id, drops special tokens, zeros and negatives, sorts by id', () => {
    // ids: <s> 40 7 40 9 </s>; weights at those positions below. Row 0 is another text.
    const weights = tensor([2, 6, 1], [9, 9, 9, 9, 9, 9, 0.7, 0.5, 0.2, 0.9, -0.3, 0.4]);
    expect(sparseEmbedding(weights, 1, [0, 40, 7, 40, 9, 2], specials)).toEqual({
      indices: [7, 40],
      values: [Float32Array.of(0.2)[0], Float32Array.of(0.9)[0]],
    });
  });

  it('reads only the real tokens of a padded row', () => {
    // Row 0 has ids <s> 5 </s> and one padding position whose weight must not count.
    const weights = tensor([1, 4], [0, 0.5, 0, 3]);
    expect(sparseEmbedding(weights, 0, [0, 5, 2], specials)).toEqual({ indices: [5], values: [0.5] });
  });

  it('gives an empty vector for a text of special tokens only', () => {
    expect(sparseEmbedding(tensor([1, 2, 1], [1, 1]), 0, [0, 2], specials)).toEqual({
      indices: [],
      values: [],
    });
  });
});

describe('colbertEmbedding', () => {
  // One row, four positions (<s> a </s> <pad>), two dims.
  const vectors = tensor([1, 4, 2], [1, 1, 3, 4, 0, 2, 7, 7]);

  it('drops the first token, keeps the end token, masks padding and normalises each vector', () => {
    expect(colbertEmbedding(vectors, 0, 3, 4)).toEqual([
      [0.6, 0.8],
      [0, 1],
    ]);
  });

  it('accepts a graph output that already dropped the first token', () => {
    const withoutFirst = tensor([1, 3, 2], [3, 4, 0, 2, 7, 7]);
    expect(colbertEmbedding(withoutFirst, 0, 3, 4)).toEqual([
      [0.6, 0.8],
      [0, 1],
    ]);
  });

  it('refuses a sequence length that matches neither convention', () => {
    expect(() => colbertEmbedding(vectors, 0, 3, 6)).toThrow(/4 positions for 6 input tokens/);
  });
});
