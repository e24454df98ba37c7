import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';

/** Plain text: paragraphs are separated by blank lines, line breaks inside a paragraph are kept. */
export function extractPlainText(text: string, options: { maxTextChars: number }): ExtractedDocument {
  const builder = new DocumentTextBuilder(options.maxTextChars);
  for (const paragraph of text.replace(/\r\n?/g, '\n').split(/\n[ \t\u3000]*\n/))
    builder.paragraph(paragraph, { keepLines: true });
  return builder.build({ mediaType: mediaTypes.plain, title: null, pageCount: null });
}
