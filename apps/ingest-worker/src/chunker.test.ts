import { describe, expect, it } from 'vitest';
import { chunkText } from './chunker.js';

describe('chunkText', () => {
  it('keeps a short text as one chunk with its offsets', () => {
    const text = '  Hello world. Second sentence!  ';
    const chunks = chunkText(text, { maxChars: 100 });
    expect(chunks).toEqual([{ ordinal: 0, text: 'Hello world. Second sentence!', start: 2, end: 31 }]);
    expect(text.slice(chunks[0]!.start, chunks[0]!.end)).toBe(chunks[0]!.text);
  });

  it('starts a new chunk at each paragraph and packs sentences up to the budget', () => {
    const text = 'One two three. Four five six. Seven eight nine.\n\nNew paragraph here.';
    const chunks = chunkText(text, { maxChars: 32 });
    expect(chunks.map((c) => c.text)).toEqual([
      'One two three. Four five six.',
      'Seven eight nine.',
      'New paragraph here.',
    ]);
    for (const chunk of chunks) expect(text.slice(chunk.start, chunk.end)).toBe(chunk.text);
  });

  it('splits Japanese at 。！？ without spaces', () => {
    const text = '東京は日本の首都です。富士山は高い！本当ですか？';
    const chunks = chunkText(text, { maxChars: 16 });
    expect(chunks.map((c) => c.text)).toEqual(['東京は日本の首都です。', '富士山は高い！本当ですか？']);
  });

  it('cuts an over-long sentence without splitting a surrogate pair', () => {
    const text = `${'a'.repeat(15)}🍣${'b'.repeat(20)}`;
    const chunks = chunkText(text, { maxChars: 16 });
    expect(chunks.map((c) => c.text).join('')).toBe(text);
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(16);
      expect(chunk.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });

  it('drops text with nothing to index', () => {
    expect(chunkText('\u200B\u200B ... \n\n !!!', { maxChars: 100 })).toEqual([]);
    expect(chunkText('', { maxChars: 100 })).toEqual([]);
  });

  it('does not split on a period inside a number or abbreviation-like token', () => {
    const chunks = chunkText('Revenue grew 12.5% in v2.0 of the plan.', { maxChars: 20 });
    expect(chunks[0]!.text.startsWith('Revenue grew 12.5%')).toBe(true);
  });
});
