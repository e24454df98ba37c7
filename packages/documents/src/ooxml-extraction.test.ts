import { describe, expect, it } from 'vitest';
import { buildPdf, buildPptx, buildXlsx } from './document-fixtures.test-support.js';
import { extractInProcess } from './extract-in-process.js';
import { mediaTypes } from './extracted-document.js';
import { resolveExtractionLimits } from './extraction-limits.js';

// Loading pdf.js or mammoth for the first time takes seconds when the machine is busy with other tests.
const parserTimeout = 30_000;
const limits = resolveExtractionLimits();

describe('XLSX', { timeout: parserTimeout }, () => {
  it('reads every sheet under its name, one line per row, with shared, inline, number and boolean cells', async () => {
    const bytes = buildXlsx([
      {
        name: 'Prices',
        rows: [
          ['Item', 'Price', 'In stock'],
          ['Coffee beans', 12.5, true],
          [{ inline: 'Green tea' }, 8, false],
        ],
      },
      {
        name: '在庫',
        rows: [
          ['品名', null, '数量'],
          [{ phonetic: ['東京', 'トウキョウ'] }, null, 3],
          [null, null],
        ],
      },
    ]);
    const doc = await extractInProcess(bytes, { filename: 'stock.xlsx' }, limits);
    expect(doc.mediaType).toBe(mediaTypes.xlsx);
    expect(doc.text).toBe(
      // The empty middle column keeps its place.
      'Prices\n\nItem | Price | In stock\nCoffee beans | 12.5 | TRUE\nGreen tea | 8 | FALSE\n\n在庫\n\n品名 | | 数量\n東京 | | 3',
    );
    expect(doc.sections.map((section) => section.headingPath)).toEqual([['Prices'], ['在庫']]);
    // The phonetic reading is not part of the cell's text.
    expect(doc.text).not.toContain('トウキョウ');
  });

  it('counts sheets against maxPages', async () => {
    const bytes = buildXlsx([
      { name: 'A', rows: [['a']] },
      { name: 'B', rows: [['b']] },
    ]);
    await expect(extractInProcess(bytes, {}, { ...limits, maxPages: 1 })).rejects.toMatchObject({
      code: 'payload_too_large',
      context: { limit: 'maxPages', value: 1, actual: 2 },
    });
  });
});

describe('PPTX', { timeout: parserTimeout }, () => {
  it('reads slides in presentation order, each a page with its title as heading', async () => {
    const bytes = buildPptx([
      { title: 'Quarterly review', body: ['Revenue grew 12%', 'Costs were flat'] },
      {
        title: 'Next steps',
        body: ['Hire two engineers'],
        table: [
          ['Team', 'Headcount'],
          ['Search', '4'],
        ],
        grouped: 'Grouped note',
      },
      { body: ['Thank you'] },
    ]);
    const doc = await extractInProcess(bytes, { filename: 'deck.pptx' }, limits);
    expect(doc.mediaType).toBe(mediaTypes.pptx);
    expect(doc.pageCount).toBe(3);
    expect(doc.title).toBe('Quarterly review');
    expect(doc.text.indexOf('Quarterly review')).toBeLessThan(doc.text.indexOf('Next steps'));
    expect(doc.text.indexOf('Next steps')).toBeLessThan(doc.text.indexOf('Thank you'));
    for (const phrase of ['Revenue grew 12%', 'Hire two engineers', 'Headcount', 'Search', 'Grouped note'])
      expect(doc.text).toContain(phrase);
    expect(doc.sections.map(({ page, headingPath }) => ({ page, headingPath }))).toEqual([
      { page: 1, headingPath: ['Quarterly review'] },
      { page: 2, headingPath: ['Next steps'] },
      { page: 3, headingPath: [] },
    ]);
  });
});

describe('PDF pages', { timeout: parserTimeout }, () => {
  it('gives every page its own sections, numbered from 1', async () => {
    const bytes = buildPdf([
      ['First page opening line.', 'Still the first paragraph.'],
      ['Second page text.'],
      ['Third page text.'],
    ]);
    const doc = await extractInProcess(bytes, { filename: 'three.pdf' }, limits);
    expect(doc.pageCount).toBe(3);
    expect(doc.sections.map((section) => [section.page, doc.text.slice(section.start, section.end)])).toEqual(
      [
        [1, 'First page opening line. Still the first paragraph.'],
        [2, 'Second page text.'],
        [3, 'Third page text.'],
      ],
    );
  });
});

describe('Japanese PDF', { timeout: parserTimeout }, () => {
  it('reads text set in a non-embedded CJK font through the predefined CMaps that ship with pdf.js', async () => {
    const bytes = buildPdf([['日本国憲法の前文です。', '国民主権を宣言する。']], { japanese: true });
    const doc = await extractInProcess(bytes, { filename: 'kenpo.pdf' }, limits);
    expect(doc.text).toBe('日本国憲法の前文です。国民主権を宣言する。');
  });
});
