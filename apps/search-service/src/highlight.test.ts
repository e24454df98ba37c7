import { describe, expect, it } from 'vitest';
import { highlightTerms } from './highlight.js';

describe('highlightTerms', () => {
  it('marks every occurrence of the query words, ignoring case', () => {
    const text = 'Milvus stores vectors. milvus is fast.';
    const ranges = highlightTerms(text, 'MILVUS vectors');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['Milvus', 'vectors', 'milvus']);
  });

  it('treats regex characters in the query as plain text', () => {
    expect(highlightTerms('a (b) c', '(b)+.*')).toEqual([]);
    expect(highlightTerms('cost is 12.5 now', '12.5')).toEqual([{ start: 8, end: 10 }]);
  });

  it('returns nothing for a query without words', () => {
    expect(highlightTerms('anything', '?? !')).toEqual([]);
  });
});
