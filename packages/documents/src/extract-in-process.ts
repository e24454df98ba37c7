import { AppError } from '@rag/contracts/app-error';
import { extractCsv } from './csv-extractor.js';
import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded } from './extraction-limits.js';
import { extractHtml } from './html-extractor.js';
import { extractMarkdown } from './markdown-extractor.js';
import { detectDocumentFormat, type TextFormat } from './media-type-detection.js';
import { extractPlainText } from './plain-text-extractor.js';

/**
 * Detects the format from the bytes and runs its extractor in the calling thread. `extractDocument` runs this in a
 * worker thread with a time and memory budget; call it directly only for trusted input.
 */
export async function extractInProcess(
  bytes: Uint8Array,
  hints: DocumentHints,
  limits: ExtractionLimits,
): Promise<ExtractedDocument> {
  checkInputSize(bytes, hints, limits);
  // The binary formats' parsers are loaded on first use: a thread that only ever sees text never loads pdf.js.
  const detected = detectDocumentFormat(bytes, hints);
  if (detected.kind === 'text') return extractText(detected.decoded.text, detected.format, limits);
  switch (detected.format) {
    case 'pdf':
      return (await import('./pdf-extractor.js')).extractPdf(bytes, limits);
    case 'docx':
      return (await import('./docx-extractor.js')).extractDocx(bytes, limits);
    case 'xlsx':
      return (await import('./xlsx-extractor.js')).extractXlsx(bytes, limits);
    case 'pptx':
      return (await import('./pptx-extractor.js')).extractPptx(bytes, limits);
  }
}

export function extractText(
  text: string,
  format: TextFormat,
  limits: Pick<ExtractionLimits, 'maxTextChars'>,
): ExtractedDocument {
  switch (format) {
    case 'html':
      return extractHtml(text, { maxTextChars: limits.maxTextChars });
    case 'markdown':
      return extractMarkdown(text, limits);
    case 'csv':
      return extractCsv(text, limits);
    case 'plain':
      return extractPlainText(text, limits);
  }
}

export function checkInputSize(bytes: Uint8Array, hints: DocumentHints, limits: ExtractionLimits): void {
  if (bytes.length === 0) {
    const name = hints.filename ? ` "${hints.filename}"` : '';
    throw new AppError('validation_failed', `the document${name} is empty (0 bytes)`, { retryable: false });
  }
  if (bytes.length > limits.maxInputBytes)
    throw limitExceeded('maxInputBytes', limits.maxInputBytes, bytes.length);
}
