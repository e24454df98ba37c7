// What the embedding service did in a phase of a bench, read from its Prometheus metrics (management port):
// requests by method, inference batches, texts per batch, and real against padded tokens (a batch computes
// rows × its longest row, so texts of different lengths in one batch pay for padding).

/** The service's counters now: sums of the series the phase report needs. */
export async function embeddingCounters(managementUrl) {
  const text = await (await fetch(`${managementUrl}/metrics`)).text();
  // Sum of a series' samples whose labels include `labels` (the registry adds its own, e.g. service).
  const value = (name, labels = {}) => {
    let sum = 0;
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const present = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      if (Object.entries(labels).every(([key, wanted]) => present[key] === wanted)) sum += Number(match[3]);
    }
    return sum;
  };
  return {
    embedRequests: value('te_request_count', { method: 'embed' }),
    tokenizeRequests: value('te_request_count', { method: 'tokenize' }),
    batches: value('te_batch_next_size_count'),
    batchTexts: value('te_batch_next_size_sum'),
    paddedTokens: value('te_batch_next_tokens_sum'),
    realTokens: value('embedding_inference_tokens_total'),
    // Batches of at most 1, 2, 4, … texts (cumulative, as the histogram keeps them).
    sizeBuckets: Object.fromEntries(
      [1, 2, 4, 8, 16, 32, 64].map((le) => [le, value('te_batch_next_size_bucket', { le: String(le) })]),
    ),
  };
}

/** The difference between two readings, with the per-batch figures the report prints. */
export function embeddingBetween(from, to) {
  const d = Object.fromEntries(
    Object.keys(to)
      .filter((key) => key !== 'sizeBuckets')
      .map((key) => [key, to[key] - from[key]]),
  );
  // Batches by size: "≤1:n ≤2:n …", each bucket on its own (not cumulative).
  let below = 0;
  const sizes = [];
  for (const le of Object.keys(to.sizeBuckets)) {
    const cumulative = to.sizeBuckets[le] - from.sizeBuckets[le];
    if (cumulative > below) sizes.push(`≤${le}:${cumulative - below}`);
    below = cumulative;
  }
  const perBatch = (n) => (d.batches > 0 ? n / d.batches : 0);
  return {
    ...d,
    textsPerBatch: perBatch(d.batchTexts),
    realTokensPerBatch: perBatch(d.realTokens),
    paddedTokensPerBatch: perBatch(d.paddedTokens),
    /** Padded over real tokens: 1.00 means no compute went to padding. */
    padding: d.realTokens > 0 ? d.paddedTokens / d.realTokens : 0,
    textsPerRequest: d.embedRequests > 0 ? d.batchTexts / d.embedRequests : 0,
    sizes: sizes.join(' '),
  };
}
