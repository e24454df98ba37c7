import { AppError } from '@rag/contracts/app-error';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded } from './extraction-limits.js';
import { coreTitle } from './ooxml-core-properties.js';
import {
  attribute,
  child,
  children,
  parseXmlPart,
  relationshipTargets,
  runText,
  textOf,
} from './ooxml-xml.js';
import { readZipEntries } from './zip-archive.js';

/** Phonetic guides (furigana) in Japanese workbooks are readings, not the cell's text. */
const skipPhonetic = new Set(['rPh', 'phoneticPr']);

/**
 * XLSX read from its parts with fast-xml-parser: each sheet (in workbook order) is a section under its name, each
 * row a line with the cells joined by " | ". Cells show their stored value: shared and inline strings as text,
 * numbers as written (a date is its serial number, formulas their cached result). Sheets count against maxPages.
 */
export function extractXlsx(bytes: Uint8Array, limits: ExtractionLimits): ExtractedDocument {
  const parts = readZipEntries(
    bytes,
    (name) => name.endsWith('.xml') || name.endsWith('.rels'),
    limits.maxDecompressedBytes,
    'XLSX',
  );
  const part = (name: string) => {
    const data = parts.get(name);
    return data ? parseXmlPart(data, name, 'XLSX') : undefined;
  };
  const workbook = part('xl/workbook.xml');
  if (!workbook)
    throw new AppError(
      'validation_failed',
      'the XLSX has no xl/workbook.xml (the workbook part is missing)',
      { retryable: false },
    );
  const rels = part('xl/_rels/workbook.xml.rels');
  const targets = rels ? relationshipTargets(rels, 'xl') : new Map<string, string>();
  const sharedStringsPart = part('xl/sharedStrings.xml');
  const sharedStrings = children(child(sharedStringsPart, 'sst'), 'si').map((item) =>
    runText(item, skipPhonetic),
  );

  const sheets = children(child(workbook, 'workbook', 'sheets'), 'sheet');
  if (sheets.length > limits.maxPages) throw limitExceeded('maxPages', limits.maxPages, sheets.length);
  const builder = new DocumentTextBuilder(limits.maxTextChars);
  sheets.forEach((sheet, index) => {
    const name = attribute(sheet, 'name') ?? `Sheet${index + 1}`;
    const path = targets.get(attribute(sheet, 'id') ?? '') ?? `xl/worksheets/sheet${index + 1}.xml`;
    const worksheet = part(path);
    if (!worksheet) return;
    builder.resetHeadings();
    builder.heading(1, name);
    let firstRow = true;
    for (const row of children(child(worksheet, 'worksheet', 'sheetData'), 'row')) {
      const cells: string[] = [];
      for (const cell of children(row, 'c')) {
        // Empty cells are usually left out of the file: the cell reference (C7) says which column this is.
        const column = columnIndex(attribute(cell, 'r')) ?? cells.length;
        while (cells.length < column) cells.push('');
        cells.push(cellText(cell, sharedStrings).trim());
      }
      while (cells.length > 0 && cells.at(-1) === '') cells.pop();
      if (cells.length === 0) continue;
      // The sheet's rows form one block below its name.
      if (firstRow) builder.paragraph(cells.join(' | '));
      else builder.line(cells.join(' | '));
      firstRow = false;
    }
  });
  return builder.build({ mediaType: mediaTypes.xlsx, title: coreTitle(parts, 'XLSX'), pageCount: null });
}

function cellText(cell: Parameters<typeof attribute>[0], sharedStrings: string[]): string {
  const type = attribute(cell, 't');
  if (type === 'inlineStr') return runText(child(cell, 'is'), skipPhonetic);
  const value = textOf(child(cell, 'v'));
  if (type === 's') return sharedStrings[Number(value)] ?? '';
  if (type === 'b') return value === '1' ? 'TRUE' : 'FALSE';
  return value;
}

/** 0-based column of a cell reference such as "C7" or "AB12"; undefined when there is none. */
function columnIndex(reference: string | undefined): number | undefined {
  const letters = reference?.match(/^[A-Z]+/)?.[0];
  if (!letters) return undefined;
  let index = 0;
  for (const letter of letters) index = index * 26 + (letter.charCodeAt(0) - 64);
  return index - 1;
}
