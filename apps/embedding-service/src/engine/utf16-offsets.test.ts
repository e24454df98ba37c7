import { describe, expect, it } from 'vitest';
import { toUtf16Offsets } from './model-tokenizer.js';

describe('toUtf16Offsets', () => {
  it('leaves offsets alone when every character is one UTF-16 unit', () => {
    // "日本語のテキスト": three-byte UTF-8 characters, yet one code unit each.
    expect(
      toUtf16Offsets('日本語のテキスト', [
        [0, 0],
        [0, 3],
        [3, 4],
        [4, 8],
        [0, 0],
      ]),
    ).toEqual([
      [0, 0],
      [0, 3],
      [3, 4],
      [4, 8],
      [0, 0],
    ]);
  });

  it('shifts offsets after a character outside the BMP, which takes two units', () => {
    // Code points: a=0 🍣=1 b=2 𝔘=3 c=4; UTF-16: a=0 🍣=1-2 b=3 𝔘=4-5 c=6.
    const text = 'a🍣b𝔘c';
    const utf16 = toUtf16Offsets(text, [
      [0, 0],
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [0, 0],
    ]);
    expect(utf16).toEqual([
      [0, 0],
      [0, 1],
      [1, 3],
      [3, 4],
      [4, 6],
      [6, 7],
      [0, 0],
    ]);
    expect(utf16.slice(1, -1).map(([start, end]) => text.slice(start, end))).toEqual([
      'a',
      '🍣',
      'b',
      '𝔘',
      'c',
    ]);
  });

  it('counts a lone surrogate as one character, as the tokenizer sees U+FFFD', () => {
    expect(
      toUtf16Offsets('x\uD800y😀', [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
      ]),
    ).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 5],
    ]);
  });
});
