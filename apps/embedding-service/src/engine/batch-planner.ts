/** Limits on one inference batch. Padding makes a batch cost (rows × longest row) tokens. */
export interface BatchLimits {
  maxBatchTokens: number;
  maxBatchSize: number;
  /** Padded over real tokens a batch may reach; defaultPaddingRatio when unset. */
  maxPaddingRatio?: number | undefined;
}

export interface Plannable {
  tokenCount: number;
}

/**
 * A batch computes rows × longest row tokens. A text joins the batch being formed only while that stays within
 * this factor of the batch's real tokens: a long text next to short ones would multiply their cost. On a GPU
 * padding is nearly free and fewer, larger batches win; on CPU every padded token costs as much as a real one and
 * a batch of one text costs hardly more per token than a batch of eight, so the CPU default is tight
 * (defaultMaxPaddingRatio in embedder-settings.ts).
 */
export const defaultPaddingRatio = 1.5;

/**
 * Splits waiting items into batches under the limits. Items are sorted by length first, so that each batch holds
 * texts of similar length and little compute goes to padding. An item longer than the token budget gets a batch of
 * its own rather than being refused: the model's maxLength, not the budget, bounds what a text may cost.
 */
export function planBatches<T extends Plannable>(items: readonly T[], limits: BatchLimits): T[][] {
  const maxPaddingRatio = limits.maxPaddingRatio ?? defaultPaddingRatio;
  const sorted = [...items].sort((a, b) => a.tokenCount - b.tokenCount);
  const batches: T[][] = [];
  let current: T[] = [];
  let realTokens = 0;
  for (const item of sorted) {
    // Sorted ascending, so the new item is the longest row of the batch it joins.
    const cost = (current.length + 1) * item.tokenCount;
    const full =
      current.length + 1 > limits.maxBatchSize ||
      cost > limits.maxBatchTokens ||
      cost > maxPaddingRatio * (realTokens + item.tokenCount);
    if (current.length > 0 && full) {
      batches.push(current);
      current = [];
      realTokens = 0;
    }
    current.push(item);
    realTokens += item.tokenCount;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
