import type { DocumentChunk } from '@rag/db/chunk-repository';
import { describe, expect, it } from 'vitest';
import { extractedFromChunks } from './rechunk.js';

const text = 'Intro line one.\n\nFirst para has words and more words.\n\nSecond para.';

/** A chunk of `text` as PostgreSQL keeps it: a slice at its offsets. */
function chunk(ordinal: number, start: number, end: number, headingPath: string[] = []): DocumentChunk {
  return {
    id: `c${ordinal}`,
    ordinal,
    text: text.slice(start, end),
    page: null,
    headingPath,
    startOffset: start,
    endOffset: end,
  };
}

describe('extractedFromChunks', () => {
  it('puts every chunk back at its offsets and makes one section of chunks that overlap or touch', () => {
    const para = text.indexOf('First');
    const second = text.indexOf('Second');
    const chunks = [
      chunk(0, 0, 15),
      chunk(1, para, para + 20, ['H']),
      chunk(2, para + 14, text.indexOf('.', para) + 1, ['H']),
      chunk(3, second, text.length, ['H']),
    ];
    const extracted = extractedFromChunks(chunks);
    for (const c of chunks) expect(extracted.text.slice(c.startOffset, c.endOffset)).toBe(c.text);
    expect(extracted.sections).toEqual([
      { start: 0, end: 15, page: null, headingPath: [] },
      { start: para, end: text.indexOf('.', para) + 1, page: null, headingPath: ['H'] },
      { start: second, end: text.length, page: null, headingPath: ['H'] },
    ]);
    // The separators no chunk holds are blanks; nothing of the chunks' text is lost.
    expect(extracted.text.replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
  });

  it('starts a section where the heading path or page changes, even when chunks touch', () => {
    const extracted = extractedFromChunks([chunk(0, 0, 5, ['A']), chunk(1, 5, 15, ['B'])]);
    expect(extracted.sections.map((s) => [s.start, s.end, s.headingPath])).toEqual([
      [0, 5, ['A']],
      [5, 15, ['B']],
    ]);
  });

  it('refuses a chunk whose text does not span its offsets', () => {
    expect(() => extractedFromChunks([{ ...chunk(0, 0, 15), endOffset: 40 }])).toThrow(/offsets/);
  });
});
