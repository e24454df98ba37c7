import { describe, expect, it } from 'vitest';
import { planBatches } from './batch-planner.js';

const texts = (...lengths: number[]) => lengths.map((tokenCount, id) => ({ id, tokenCount }));
const ids = (batches: { id: number }[][]) => batches.map((batch) => batch.map((text) => text.id));

describe('planBatches', () => {
  it('puts everything in one batch when it fits', () => {
    expect(ids(planBatches(texts(3, 4, 5), { maxBatchTokens: 100, maxBatchSize: 10 }))).toEqual([[0, 1, 2]]);
  });

  it('groups texts of similar length so that short texts are not padded to long ones', () => {
    const batches = planBatches(texts(50, 3, 48, 4), { maxBatchTokens: 100, maxBatchSize: 10 });
    expect(ids(batches)).toEqual([
      [1, 3],
      [2, 0],
    ]);
  });

  it('counts padded tokens: rows times the longest row', () => {
    // 3 rows of up to 10 tokens cost 30 > 25, so the third text starts a new batch.
    expect(ids(planBatches(texts(10, 10, 10), { maxBatchTokens: 25, maxBatchSize: 10 }))).toEqual([
      [0, 1],
      [2],
    ]);
  });

  it('respects the batch size', () => {
    expect(ids(planBatches(texts(1, 1, 1, 1, 1), { maxBatchTokens: 1000, maxBatchSize: 2 }))).toEqual([
      [0, 1],
      [2, 3],
      [4],
    ]);
  });

  it('gives a text longer than the budget a batch of its own instead of refusing it', () => {
    expect(ids(planBatches(texts(2, 500, 3), { maxBatchTokens: 100, maxBatchSize: 10 }))).toEqual([
      [0, 2],
      [1],
    ]);
  });

  it('starts a new batch rather than pad short texts to a much longer one', () => {
    // 4 rows of up to 29 tokens would compute 116 tokens for 38 real ones; split, they compute 12 + 60.
    expect(ids(planBatches(texts(30, 2, 29, 3, 4), { maxBatchTokens: 1000, maxBatchSize: 10 }))).toEqual([
      [1, 3, 4],
      [2, 0],
    ]);
  });

  it('keeps padding within the ratio it is given', () => {
    // Together 2 rows of 115 tokens compute 230 for 215 real ones (1.07): within 1.5, beyond 1.05.
    const limits = { maxBatchTokens: 1000, maxBatchSize: 10 };
    expect(ids(planBatches(texts(100, 115), limits))).toEqual([[0, 1]]);
    expect(ids(planBatches(texts(100, 115), { ...limits, maxPaddingRatio: 1.1 }))).toEqual([[0, 1]]);
    expect(ids(planBatches(texts(100, 115), { ...limits, maxPaddingRatio: 1.05 }))).toEqual([[0], [1]]);
    // 130 next to 100 computes 260 for 230 (1.13).
    expect(ids(planBatches(texts(130, 100), { ...limits, maxPaddingRatio: 1.1 }))).toEqual([[1], [0]]);
  });

  it('returns no batches for no texts', () => {
    expect(planBatches([], { maxBatchTokens: 10, maxBatchSize: 10 })).toEqual([]);
  });
});
