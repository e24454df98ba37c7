import { AppError } from '@rag/contracts/app-error';
import { parse } from 'csv-parse/sync';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';

/** CSV or TSV (the delimiter is whichever of comma and tab the first line has more of), one line per row. */
export function extractCsv(text: string, options: { maxTextChars: number }): ExtractedDocument {
  const firstLine = text.slice(0, text.indexOf('\n') >>> 0);
  const delimiter = count(firstLine, '\t') > count(firstLine, ',') ? '\t' : ',';
  let rows: string[][];
  try {
    rows = parse(text, {
      delimiter,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      bom: true,
    });
  } catch (error) {
    throw new AppError(
      'validation_failed',
      `the CSV cannot be parsed: ${error instanceof Error ? error.message : String(error)}`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
  const builder = new DocumentTextBuilder(options.maxTextChars);
  let first = true;
  for (const row of rows) {
    const line = row.map((cell) => cell.trim()).join(' | ');
    if (first) builder.paragraph(line);
    else builder.line(line);
    first = false;
  }
  return builder.build({ mediaType: mediaTypes.csv, title: null, pageCount: null });
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}
