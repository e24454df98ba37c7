import { searchRequestSchema } from '@rag/contracts/public-api';
import { describe, expect, it } from 'vitest';
import { defaultSettings, searchRequest } from './search-settings.js';

describe('playground settings', () => {
  it('asks for the defaults with the fewest fields', () => {
    expect(searchRequest('handbook', 'travel', defaultSettings)).toEqual({
      collection: 'handbook',
      query: 'travel',
      top_k: 10,
      mode: 'hybrid',
    });
  });

  it('sends fusion and weights only for hybrid, and every other choice as the API names it', () => {
    const request = searchRequest('handbook', '旅費', {
      ...defaultSettings,
      fusion: 'rrf',
      customWeights: true,
      weights: { dense: 0.7, sparse: 0, bm25: 0.3 },
      rerank: 'colbert',
      topK: 5,
      groupByDocument: true,
      filter: { join: 'and', rows: [{ field: 'lang', operator: 'eq', value: 'ja' }] },
    });
    expect(request).toEqual({
      collection: 'handbook',
      query: '旅費',
      top_k: 5,
      mode: 'hybrid',
      rerank: 'colbert',
      fusion: 'rrf',
      weights: { dense: 0.7, sparse: 0, bm25: 0.3 },
      group_by_document: true,
      filter: { field: 'lang', eq: 'ja' },
    });
    expect(searchRequestSchema.safeParse(request).success).toBe(true);
    expect(
      searchRequest('handbook', 'x', {
        ...defaultSettings,
        mode: 'bm25',
        fusion: 'rrf',
        customWeights: true,
      }),
    ).toEqual({
      collection: 'handbook',
      query: 'x',
      top_k: 10,
      mode: 'bm25',
    });
  });
});
