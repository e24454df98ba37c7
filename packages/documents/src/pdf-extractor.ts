import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AppError, isAppError } from '@rag/contracts/app-error';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';
import { limitExceeded } from './extraction-limits.js';

// Adobe's CMaps (needed for CJK text in fonts that are not embedded) and the standard 14 fonts' metrics ship inside
// pdfjs-dist; in Node pdf.js reads them from these folders with fs.
const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const cMapUrl = `${join(pdfjsRoot, 'cmaps')}/`;
const standardFontDataUrl = `${join(pdfjsRoot, 'standard_fonts')}/`;

interface PdfLine {
  text: string;
  /** Baseline y in PDF units (grows upwards). */
  y: number;
  height: number;
}

/**
 * PDF text per page with pdf.js (Mozilla's parser, legacy build for Node). Lines come from the text items' end-of-line
 * marks; a vertical gap clearly larger than the line height starts a new paragraph, so chunking can split there.
 * A PDF has no reliable headings, so sections are pages (heading path empty). The page count is checked before
 * any page is read.
 */
export async function extractPdf(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractedDocument> {
  // pdf.js takes ownership of the buffer it is given; keep the caller's bytes intact.
  const task = getDocument({
    data: bytes.slice(),
    cMapUrl,
    cMapPacked: true,
    standardFontDataUrl,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
  let pdf: Awaited<typeof task.promise>;
  try {
    pdf = await task.promise;
  } catch (error) {
    await task.destroy();
    throw pdfError(error);
  }
  try {
    if (pdf.numPages > limits.maxPages) throw limitExceeded('maxPages', limits.maxPages, pdf.numPages);
    const builder = new DocumentTextBuilder(limits.maxTextChars);
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      const page = await pdf.getPage(pageNumber);
      const content = await page.getTextContent();
      for (const paragraph of paragraphsOf(linesOf(content.items.filter(isTextItem))))
        builder.paragraph(paragraph, { page: pageNumber });
      page.cleanup();
    }
    const title = await pdfTitle(pdf);
    return builder.build({ mediaType: mediaTypes.pdf, title, pageCount: pdf.numPages });
  } catch (error) {
    throw pdfError(error);
  } finally {
    await pdf.destroy();
  }
}

/**
 * The title the PDF carries: XMP dc:title, else the Info dictionary's Title (the order pdf.js's viewer uses, as
 * writers update XMP more reliably). A metadata stream that cannot be read leaves the document without a title.
 */
async function pdfTitle(pdf: {
  getMetadata(): Promise<{ info: object; metadata: unknown }>;
}): Promise<string | null> {
  const found = await pdf.getMetadata().catch(() => null);
  if (!found) return null;
  const metadata = found.metadata as { get(name: string): unknown } | null;
  const xmpTitle = metadata?.get('dc:title');
  if (typeof xmpTitle === 'string' && xmpTitle.trim() !== '') return xmpTitle;
  const infoTitle = (found.info as { Title?: unknown }).Title;
  return typeof infoTitle === 'string' && infoTitle.trim() !== '' ? infoTitle : null;
}

function isTextItem(item: object): item is TextItem {
  return 'str' in item;
}

function linesOf(items: TextItem[]): PdfLine[] {
  const lines: PdfLine[] = [];
  let current: PdfLine | null = null;
  for (const item of items) {
    if (!current) current = { text: '', y: item.transform[5] ?? 0, height: 0 };
    current.text += item.str;
    current.height = Math.max(current.height, item.height);
    if (item.hasEOL) {
      lines.push(current);
      current = null;
    }
  }
  if (current) lines.push(current);
  return lines.filter((line) => line.text.trim() !== '');
}

function paragraphsOf(lines: PdfLine[]): string[] {
  const paragraphs: string[] = [];
  let text = '';
  let previous: PdfLine | null = null;
  for (const line of lines) {
    const lineHeight = Math.max(line.height, previous?.height ?? 0) || 10;
    const gap = previous ? previous.y - line.y : 0;
    // Same paragraph: the next baseline is about one line below. Anything else (a blank line's worth of space,
    // a jump upwards into another column) ends the paragraph.
    if (previous && (gap > lineHeight * 1.6 || gap < 0)) {
      paragraphs.push(text);
      text = '';
    }
    text = joinLine(text, line.text.trim());
    previous = line;
  }
  if (text !== '') paragraphs.push(text);
  return paragraphs;
}

/** Joins a wrapped line: a word hyphenated at the line end is put back together. */
function joinLine(text: string, line: string): string {
  if (text === '') return line;
  if (/[a-z]-$/.test(text) && /^[a-z]/.test(line)) return text.slice(0, -1) + line;
  // CJK text wraps without spaces.
  if (/[\u3000-\u9fff\uff00-\uffef]$/.test(text) && /^[\u3000-\u9fff\uff00-\uffef]/.test(line))
    return text + line;
  return `${text} ${line}`;
}

function pdfError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'PasswordException')
    return new AppError('validation_failed', 'the PDF is encrypted and needs a password', {
      retryable: false,
      cause: error,
    });
  return new AppError('validation_failed', `the PDF cannot be read: ${message}`, {
    retryable: false,
    cause: error,
  });
}
