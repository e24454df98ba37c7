import { AppError } from '@rag/contracts/app-error';
import { createDocumentExtractor } from './document-extractor.js';
import { extractText } from './extract-in-process.js';
import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded, resolveExtractionLimits } from './extraction-limits.js';
import { detectTextFormat } from './media-type-detection.js';

/**
 * Extracts the text of a file in a thread of its own (see createDocumentExtractor, which keeps threads for many
 * documents). The format comes from the content (magic bytes, the parts of an OOXML archive, text sniffing);
 * `hints` only choose between text formats that content cannot tell apart (Markdown, CSV, plain text).
 */
export async function extractDocument(
  bytes: Uint8Array,
  hints: DocumentHints = {},
  limits: Partial<ExtractionLimits> = {},
): Promise<ExtractedDocument> {
  const extractor = createDocumentExtractor({ threads: 1, limits });
  try {
    return await extractor.extract(bytes, hints);
  } finally {
    await extractor.close();
  }
}

/**
 * Text handed over as a string (an API body or a queue job): HTML and Markdown by `mediaType`, else plain text, or
 * HTML when it plainly is. Runs in the calling thread: these parsers are linear in the input, and the input was
 * already size-limited by whoever accepted it.
 */
export function extractInlineText(
  text: string,
  hints: { mediaType?: string } = {},
  limitOverrides: Partial<Pick<ExtractionLimits, 'maxTextChars'>> = {},
): ExtractedDocument {
  const limits = resolveExtractionLimits(limitOverrides);
  if (text.trim() === '')
    throw new AppError('validation_failed', 'the document text is empty', { retryable: false });
  // Checked before parsing so a huge string fails at once rather than after the parse.
  if (text.length > limits.maxTextChars)
    throw limitExceeded('maxTextChars', limits.maxTextChars, text.length);
  return extractText(text, detectTextFormat(text, hints), limits);
}
