import { describe, expect, it } from 'vitest';
import { contextLine, contextualText, fitContext } from './chunk-context.js';

describe('contextLine', () => {
  it('joins the title and the heading path, outermost first', () => {
    expect(contextLine('User guide', ['Install', 'On Linux'])).toBe('User guide › Install › On Linux');
  });

  it('leaves out empty parts and a heading that repeats the part before it', () => {
    expect(contextLine(null, [])).toBe('');
    expect(contextLine('  ', ['Intro'])).toBe('Intro');
    expect(contextLine('User Guide', ['user guide', 'Install'])).toBe('User Guide › Install');
    expect(contextLine('A\n multi-line\ttitle', [])).toBe('A multi-line title');
  });
});

describe('contextualText', () => {
  it('puts the line before the text, and nothing when there is no line', () => {
    expect(contextualText('Guide › Install', 'Run the script.')).toBe('Guide › Install\nRun the script.');
    expect(contextualText('', 'Run the script.')).toBe('Run the script.');
  });
});

describe('fitContext', () => {
  it('cuts a line at the end of the last token that fits', () => {
    const tokens: [number, number][] = [
      [0, 4],
      [5, 9],
      [10, 14],
    ];
    expect(fitContext('aaaa bbbb cccc', tokens, 3)).toBe('aaaa bbbb cccc');
    expect(fitContext('aaaa bbbb cccc', tokens, 2)).toBe('aaaa bbbb');
    expect(fitContext('aaaa bbbb cccc', tokens, 0)).toBe('');
  });
});
