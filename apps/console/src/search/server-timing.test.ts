import { describe, expect, it } from 'vitest';
import { parseServerTiming, searchStages } from './server-timing.js';

describe('Server-Timing', () => {
  it('reads durations and descriptions, skipping what is not a metric', () => {
    expect(parseServerTiming('embed;dur=12.5, milvus;dur=3,cache;desc=hit, ;dur=1')).toEqual([
      { name: 'embed', durationMs: 12.5, description: null },
      { name: 'milvus', durationMs: 3, description: null },
      { name: 'cache', durationMs: null, description: 'hit' },
    ]);
    expect(parseServerTiming(null)).toEqual([]);
  });

  it("splits a search into its stages, the search service's rest and the gateway's share", () => {
    const entries = parseServerTiming(
      'embed;dur=10.00, milvus;dur=5.00, db;dur=2.00, rerank;dur=0.00, search;dur=20.00, gateway;dur=23.50',
    );
    expect(searchStages(entries)).toEqual([
      { name: 'embed', ms: 10 },
      { name: 'milvus', ms: 5 },
      { name: 'db', ms: 2 },
      { name: 'rerank', ms: 0 },
      { name: 'other (search service)', ms: 3 },
      { name: 'gateway', ms: 3.5 },
    ]);
  });
});
