/** Limits on one inference batch. Padding makes a batch cost (rows × longest row) tokens. */
export interface BatchLimits {
  maxBatchTokens: number;
  maxBatchSize: number;
}

export interface Plannable {
  tokenCount: number;
}

/**
 * Splits waiting items into batches under the limits. Items are sorted by length first, so that each batch holds
 * texts of similar length and little compute goes to padding. An item longer than the token budget gets a batch of
 * its own rather than being refused: the model's maxLength, not the budget, bounds what a text may cost.
 */
export function planBatches<T extends Plannable>(items: readonly T[], limits: BatchLimits): T[][] {
  const sorted = [...items].sort((a, b) => a.tokenCount - b.tokenCount);
  const batches: T[][] = [];
  let current: T[] = [];
  for (const item of sorted) {
    // Sorted ascending, so the new item is the longest row of the batch it joins.
    const cost = (current.length + 1) * item.tokenCount;
    if (current.length > 0 && (current.length + 1 > limits.maxBatchSize || cost > limits.maxBatchTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
