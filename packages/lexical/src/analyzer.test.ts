import { describe, expect, it } from 'vitest';
import { analyze, analyzeTerms, lexicalTermIds, termId } from './analyzer.js';

describe('analyze', () => {
  it('lower-cases words and drops English stop words', () => {
    expect(analyzeTerms('The Aerodynamics of a Wing in a Slipstream')).toEqual([
      'aerodynamics',
      'wing',
      'slipstream',
    ]);
  });

  it('normalises with NFKC before splitting, keeping offsets into the original text', () => {
    const text = 'ＡＢＣ　ﾃﾞｰﾀ';
    const terms = analyze(text);
    expect(terms.map((t) => t.term)).toEqual(['abc', 'デー', 'ータ']);
    expect(terms.map((t) => text.slice(t.start, t.end))).toEqual(['ＡＢＣ', 'ﾃﾞｰ', 'ｰﾀ']);
  });

  it('splits CJK runs into overlapping bigrams and leaves out Hiragana-only terms', () => {
    const terms = analyze('梅雨の時期はいつ？');
    expect(terms.filter((t) => !t.inner).map((t) => t.term)).toEqual([
      '梅雨',
      '雨の',
      'の時',
      '時期',
      '期は',
    ]);
  });

  it('also indexes each kanji of a longer run on its own, marked as inner', () => {
    const terms = analyze('東京都');
    expect(terms.map((t) => [t.term, t.inner ?? false])).toEqual([
      ['東', true],
      ['東京', false],
      ['京', true],
      ['京都', false],
      ['都', true],
    ]);
  });

  it('keeps a one-character CJK run as a unigram and splits words at a change of script', () => {
    expect(analyzeTerms('Windows版 と 東')).toEqual(['windows', '版', '東']);
    expect(analyzeTerms('서울 특별시')).toEqual(['서울', '특별', '별시']);
  });

  it('has no terms for text without letters or digits', () => {
    expect(analyze('?? ! ...')).toEqual([]);
  });
});

describe('termId', () => {
  it('is a stable non-negative 31-bit integer per term', () => {
    expect(termId('wing')).toBe(termId('wing'));
    expect(termId('wing')).not.toBe(termId('wings'));
    for (const term of ['a', '梅雨', 'slipstream', '']) {
      expect(Number.isInteger(termId(term)) && termId(term) >= 0 && termId(term) < 2 ** 31).toBe(true);
    }
    expect(lexicalTermIds('wing Wing')).toEqual([termId('wing'), termId('wing')]);
  });
});
