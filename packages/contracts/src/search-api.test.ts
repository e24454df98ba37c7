import { describe, expect, it } from 'vitest';
import { internalSearchRequestSchema, resultWindowProblem } from './search-api.js';

const scope = { tenantId: 'acme', collectionId: '0b7f3c52-8f1e-4a51-9d7a-2f1c6c7e2a10', principals: null };

describe('the internal search request', () => {
  it('is the public body, less collection and cursor, plus the resolved scope', () => {
    const parsed = internalSearchRequestSchema.parse({ query: 'refund policy', scope });
    expect(parsed).toMatchObject({
      query: 'refund policy',
      top_k: 10,
      offset: 0,
      mode: 'hybrid',
      rerank: 'none',
      fusion: 'weighted',
      group_by_document: false,
      scope,
    });
  });

  it('takes no collection name or cursor: the gateway resolves them', () => {
    expect(internalSearchRequestSchema.safeParse({ query: 'q', collection: 'docs', scope }).success).toBe(
      false,
    );
    expect(internalSearchRequestSchema.safeParse({ query: 'q', cursor: 'abc', scope }).success).toBe(false);
    expect(internalSearchRequestSchema.safeParse({ query: 'q' }).success).toBe(false);
  });

  it('keeps every page within the ranking, by the same check the gateway makes', () => {
    expect(resultWindowProblem(190, 10)).toBeUndefined();
    expect(resultWindowProblem(191, 10)).toBe(
      'offset + top_k must not exceed 200: pages reach the first 200 results',
    );
    const beyond = internalSearchRequestSchema.safeParse({ query: 'q', offset: 191, top_k: 10, scope });
    expect(beyond.success).toBe(false);
    expect(beyond.error?.issues[0]).toMatchObject({
      path: ['offset'],
      message: resultWindowProblem(191, 10),
    });
  });

  it('refuses weights that are all 0', () => {
    const zero = { dense: 0, bm25: 0 };
    expect(internalSearchRequestSchema.safeParse({ query: 'q', weights: zero, scope }).success).toBe(false);
  });
});
