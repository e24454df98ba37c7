import { analyze } from '@rag/lexical/analyzer';
import { describe, expect, it } from 'vitest';
import { type Highlight, highlighter, highlightTerms, matchedRanges } from './highlight.js';

describe('highlightTerms', () => {
  it('marks every occurrence of the query words, ignoring case', () => {
    const text = 'Milvus stores vectors. milvus is fast.';
    const ranges = highlightTerms(text, 'MILVUS vectors');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['Milvus', 'vectors', 'milvus']);
  });

  it('treats regex characters in the query as plain text', () => {
    expect(highlightTerms('a (b) c', '(b)+.*')).toEqual([{ start: 3, end: 4 }]);
    expect(highlightTerms('cost is 12.5 now', '12.5')).toEqual([
      { start: 8, end: 10 },
      { start: 11, end: 12 },
    ]);
  });

  it('never marks stop words, even where the query has them', () => {
    const text = 'The wing of the aircraft';
    const ranges = highlightTerms(text, 'the wing of an aircraft');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['wing', 'aircraft']);
  });

  it('matches full-width and half-width forms of the same word', () => {
    const text = 'ＲＡＧ と ﾃﾞｰﾀ';
    const ranges = highlightTerms(text, 'rag データ');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['ＲＡＧ', 'ﾃﾞｰﾀ']);
  });

  it('returns nothing for a query without words', () => {
    expect(highlightTerms('anything', '?? !')).toEqual([]);
  });
});

describe('highlightTerms in Japanese', () => {
  it('marks the query bigrams found in text without spaces, merging overlapping ones', () => {
    const text = '梅雨の時期が始まることを梅雨入りという。';
    const ranges = highlightTerms(text, '梅雨の時期はいつ？');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['梅雨の時期', '梅雨']);
  });

  it('keeps Latin words in mixed text', () => {
    const text = '東京都庁はTokyoにある';
    const ranges = highlightTerms(text, '東京都 tokyo');
    expect(ranges.map((r) => text.slice(r.start, r.end))).toEqual(['東京都', 'Tokyo']);
  });
});

/** The analyzer's way, term by term, which the scan of ASCII text must reproduce exactly. */
function byAnalyzer(text: string, query: string, limit = 32): Highlight[] {
  return matchedRanges(analyze(text), new Set(analyze(query).map((t) => t.term)), limit);
}

describe('highlighter on ASCII text', () => {
  it('finds exactly what the analyzer finds, on texts of every ASCII character', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    const words = ['the', 'of', 'Wing', 'wing', 'AIR', 'craft', 'x1', '42', 'an', 'B2B', 'it'];
    for (let round = 0; round < 300; round++) {
      const parts: string[] = [];
      for (let i = next() % 40; i > 0; i--) {
        // Words, then any ASCII character (controls, punctuation, digits) as a separator or inside a word.
        parts.push(words[next() % words.length] as string, String.fromCharCode(next() % 128));
      }
      const text = parts.join('');
      const query = `${words[next() % words.length]} ${words[next() % words.length]} ${String.fromCharCode(next() % 128)}x1`;
      const limit = 1 + (next() % 8);
      expect(highlighter(query, limit)(text), `${JSON.stringify(text)} / ${query}`).toEqual(
        byAnalyzer(text, query, limit),
      );
    }
  });

  it('analyzes text with any other character as before', () => {
    const text = 'Ｗｉｎｇ of the café wing';
    expect(highlighter('wing café')(text)).toEqual(byAnalyzer(text, 'wing café'));
    expect(highlighter('wing café')(text).map((r) => text.slice(r.start, r.end))).toEqual([
      'Ｗｉｎｇ',
      'café',
      'wing',
    ]);
  });
});
