import { describe, expect, it } from 'vitest';
import { breakLevel, findBreakPoints, isGraphemeBoundary } from './break-points.js';

/** The text after each break of at least `level`, for readable expectations. */
function piecesAt(text: string, level: number): string[] {
  const positions = [...findBreakPoints(text)]
    .filter(([, found]) => found >= level)
    .map(([position]) => position)
    .sort((a, b) => a - b);
  return [0, ...positions].map((start, index) => text.slice(start, positions[index] ?? text.length));
}

describe('findBreakPoints', () => {
  it('ends English sentences at . ! ? but not after abbreviations, initials or inside numbers', () => {
    const text =
      'Dr. Smith paid $3.50 for it, i.e. a bargain. J. R. Tolkien agreed! Did he? Yes. See Fig. 2 for details.';
    expect(piecesAt(text, breakLevel.sentence)).toEqual([
      'Dr. Smith paid $3.50 for it, i.e. a bargain. ',
      'J. R. Tolkien agreed! ',
      'Did he? ',
      'Yes. ',
      'See Fig. 2 for details.',
    ]);
  });

  it('ends Japanese sentences at 。！？ without spaces, keeping closing brackets with the sentence', () => {
    const text = '今日は晴れです。「本当ですか？」と聞いた。すごい！次の文、そして続き。';
    expect(piecesAt(text, breakLevel.sentence)).toEqual([
      '今日は晴れです。',
      '「本当ですか？」と聞いた。',
      'すごい！',
      '次の文、そして続き。',
    ]);
    expect(piecesAt(text, breakLevel.clause)).toContain('そして続き。');
  });

  it('ranks a blank line above a line break above a sentence above a clause above a word', () => {
    const text = 'One, two three.\nNext line.\n\nNew paragraph.';
    const points = findBreakPoints(text);
    expect(points.get(text.indexOf('two'))).toBe(breakLevel.clause);
    expect(points.get(text.indexOf('three'))).toBe(breakLevel.word);
    expect(points.get(text.indexOf('Next'))).toBe(breakLevel.line);
    expect(points.get(text.indexOf('New'))).toBe(breakLevel.paragraph);
  });

  it('does not split numbers with thousands separators or times', () => {
    const points = findBreakPoints('It cost 1,000 yen at 12:30, then more.');
    expect(points.has('It cost 1,'.length)).toBe(false);
    expect(points.has('It cost 1,000 yen at 12:'.length)).toBe(false);
    expect(points.get('It cost 1,000 yen at 12:30, '.length)).toBe(breakLevel.clause);
  });
});

describe('isGraphemeBoundary', () => {
  it('never splits a surrogate pair, a combining mark or a ZWJ emoji sequence', () => {
    const family = '👨‍👩‍👧';
    const text = `a${family}e\u0301𠮷b`;
    const boundaries = [...Array(text.length + 1).keys()].filter((index) => isGraphemeBoundary(text, index));
    const afterFamily = 1 + family.length;
    expect(boundaries).toEqual([0, 1, afterFamily, afterFamily + 2, afterFamily + 4, afterFamily + 5]);
  });
});
