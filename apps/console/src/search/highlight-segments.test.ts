import { describe, expect, it } from 'vitest';
import { highlightSegments } from './highlight-segments.js';

describe('highlight segments', () => {
  it('cuts Japanese text at the given UTF-16 offsets without breaking characters', () => {
    const text = '出張の旅費は規程に従い精算する。';
    expect(highlightSegments(text, [{ start: 3, end: 5 }])).toEqual([
      { text: '出張の', highlighted: false },
      { text: '旅費', highlighted: true },
      { text: 'は規程に従い精算する。', highlighted: false },
    ]);
  });

  it('merges overlaps and clamps offsets past the end', () => {
    expect(
      highlightSegments('filter rinse', [
        { start: 7, end: 20 },
        { start: 0, end: 3 },
        { start: 2, end: 6 },
      ]),
    ).toEqual([
      { text: 'filter', highlighted: true },
      { text: ' ', highlighted: false },
      { text: 'rinse', highlighted: true },
    ]);
  });
});
