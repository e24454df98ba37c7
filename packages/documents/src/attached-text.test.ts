import { describe, expect, it } from 'vitest';
import { buildDocx, buildPptx, buildXlsx } from './document-fixtures.test-support.js';
import { extractInProcess } from './extract-in-process.js';
import type { ExtractedDocument } from './extracted-document.js';
import { resolveExtractionLimits } from './extraction-limits.js';

// Loading mammoth for the first time takes seconds when the machine is busy with other tests.
const parserTimeout = 30_000;
const limits = resolveExtractionLimits();

/** Each section's heading path with its text. */
function sectionsOf(doc: ExtractedDocument) {
  return doc.sections.map(({ headingPath, page, start, end }) => ({
    headingPath,
    page,
    text: doc.text.slice(start, end),
  }));
}

describe('text outside the main body', { timeout: parserTimeout }, () => {
  it('DOCX: footnotes, endnotes and comments each in their own section after the body', async () => {
    const bytes = buildDocx([
      { text: 'Expenses', heading: 1 },
      {
        text: 'Travel is booked through the portal.',
        footnote: 'The portal is at travel.example.com.',
        comment: 'Check whether contractors may use it.',
      },
      { text: 'Receipts are kept for seven years.', endnote: 'Seven years is the statutory minimum.' },
    ]);
    const doc = await extractInProcess(bytes, { filename: 'policy.docx' }, limits);
    expect(sectionsOf(doc)).toEqual([
      {
        headingPath: ['Expenses'],
        page: null,
        // mammoth's "[1]" reference marks are gone: the notes have sections of their own.
        text: 'Expenses\n\nTravel is booked through the portal.\n\nReceipts are kept for seven years.',
      },
      { headingPath: ['Footnotes'], page: null, text: 'Footnotes\n\nThe portal is at travel.example.com.' },
      { headingPath: ['Endnotes'], page: null, text: 'Endnotes\n\nSeven years is the statutory minimum.' },
      { headingPath: ['Comments'], page: null, text: 'Comments\n\nCheck whether contractors may use it.' },
    ]);
  });

  it('PPTX: speaker notes on the slide page, under the slide title and "Notes"', async () => {
    const bytes = buildPptx([
      {
        title: 'Roadmap',
        body: ['Launch in March'],
        notes: ['Mention the beta customers.', 'Keep it short.'],
      },
      { body: ['Questions?'], notes: ['Leave ten minutes.'] },
      { title: 'Thanks', body: ['Contact us'] },
    ]);
    const doc = await extractInProcess(bytes, { filename: 'deck.pptx' }, limits);
    expect(sectionsOf(doc)).toEqual([
      { headingPath: ['Roadmap'], page: 1, text: 'Roadmap\n\nLaunch in March' },
      {
        headingPath: ['Roadmap', 'Notes'],
        page: 1,
        text: 'Notes\n\nMention the beta customers.\n\nKeep it short.',
      },
      { headingPath: [], page: 2, text: 'Questions?' },
      { headingPath: ['Notes'], page: 2, text: 'Notes\n\nLeave ten minutes.' },
      { headingPath: ['Thanks'], page: 3, text: 'Thanks\n\nContact us' },
    ]);
    // The slide number and the slide picture on a notes page are not notes.
    expect(doc.text).not.toMatch(/Notes\n\n\d/);
  });

  it('XLSX: the cells of every sheet, hidden sheets included', async () => {
    const bytes = buildXlsx([
      { name: 'Summary', rows: [['Total', 42]] },
      { name: 'Raw data', rows: [['Order 1001', 'shipped']] },
      { name: 'Archive', hidden: true, rows: [['Order 0999', 'returned']] },
    ]);
    const doc = await extractInProcess(bytes, { filename: 'orders.xlsx' }, limits);
    expect(sectionsOf(doc).map(({ headingPath, text }) => [headingPath, text])).toEqual([
      [['Summary'], 'Summary\n\nTotal | 42'],
      [['Raw data'], 'Raw data\n\nOrder 1001 | shipped'],
      [['Archive'], 'Archive\n\nOrder 0999 | returned'],
    ]);
  });
});
