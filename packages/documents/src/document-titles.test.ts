import { describe, expect, it } from 'vitest';
import { buildDocx, buildPdf, buildPptx, buildXlsx } from './document-fixtures.test-support.js';
import { extractInProcess } from './extract-in-process.js';
import { resolveExtractionLimits } from './extraction-limits.js';

// Loading pdf.js or mammoth for the first time takes seconds when the machine is busy with other tests.
const parserTimeout = 30_000;
const limits = resolveExtractionLimits();
const bytes = (text: string) => new TextEncoder().encode(text);

describe('the title a file carries', { timeout: parserTimeout }, () => {
  it('PDF: the XMP dc:title first, else the Info dictionary Title, else none', async () => {
    const page = [['Quarterly figures for the board.']];
    const both = await extractInProcess(
      buildPdf(page, { infoTitle: 'Info title', xmpTitle: 'Board report Q3' }),
      {},
      limits,
    );
    expect(both.title).toBe('Board report Q3');
    const info = await extractInProcess(buildPdf(page, { infoTitle: 'Board report Q3' }), {}, limits);
    expect(info.title).toBe('Board report Q3');
    const none = await extractInProcess(buildPdf(page), {}, limits);
    expect(none.title).toBeNull();
  });

  it('DOCX: the core properties title, else the first Heading 1', async () => {
    const paragraphs = [{ text: 'Introduction', heading: 1 as const }, { text: 'The body.' }];
    const titled = await extractInProcess(buildDocx(paragraphs, { title: 'Travel policy 2026' }), {}, limits);
    expect(titled.title).toBe('Travel policy 2026');
    const untitled = await extractInProcess(buildDocx(paragraphs), {}, limits);
    expect(untitled.title).toBe('Introduction');
  });

  it('DOCX: a notes heading is never the title', async () => {
    const doc = await extractInProcess(buildDocx([{ text: 'Body only.', footnote: 'A note.' }]), {}, limits);
    expect(doc.title).toBeNull();
  });

  it('PPTX: the core properties title, else the first slide title', async () => {
    const slides = [{ title: 'Welcome', body: ['Agenda'] }];
    const titled = await extractInProcess(buildPptx(slides, { title: 'Sales kickoff' }), {}, limits);
    expect(titled.title).toBe('Sales kickoff');
    const untitled = await extractInProcess(buildPptx(slides), {}, limits);
    expect(untitled.title).toBe('Welcome');
  });

  it('XLSX: the core properties title, else none', async () => {
    const sheets = [{ name: 'Sheet1', rows: [['Item', 'Price']] }];
    const titled = await extractInProcess(buildXlsx(sheets, { title: 'Price list' }), {}, limits);
    expect(titled.title).toBe('Price list');
    const untitled = await extractInProcess(buildXlsx(sheets), {}, limits);
    expect(untitled.title).toBeNull();
  });

  it('HTML: the <title> element', async () => {
    const html =
      '<html><head><title>Duck - Wikipedia</title></head><body><h1>Duck</h1><p>A bird.</p></body></html>';
    const doc = await extractInProcess(bytes(html), { filename: 'duck.html' }, limits);
    expect(doc.title).toBe('Duck - Wikipedia');
  });

  it('Markdown: the first level-1 heading, else the first heading', async () => {
    const h1 = await extractInProcess(
      bytes('## Overview\n\ntext\n\n# Handbook\n\nmore'),
      { filename: 'a.md' },
      limits,
    );
    expect(h1.title).toBe('Handbook');
    const h2 = await extractInProcess(
      bytes('## Release notes\n\nFixed a bug.\n'),
      { filename: 'b.md' },
      limits,
    );
    expect(h2.title).toBe('Release notes');
  });

  it('plain text and CSV carry none (the file name stands in, see the ingest worker)', async () => {
    expect((await extractInProcess(bytes('Just words.'), { filename: 'a.txt' }, limits)).title).toBeNull();
    expect((await extractInProcess(bytes('a,b\n1,2\n'), { filename: 'a.csv' }, limits)).title).toBeNull();
  });
});
