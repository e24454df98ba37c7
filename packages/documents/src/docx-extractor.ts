import { AppError } from '@rag/contracts/app-error';
import { zipSync } from 'fflate';
import mammoth from 'mammoth';
import { docxNoteSections } from './docx-notes.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';
import { extractHtml } from './html-extractor.js';
import { coreTitle } from './ooxml-core-properties.js';
import { refuseDtd } from './ooxml-xml.js';
import { readZipEntries } from './zip-archive.js';

/** Images and embedded objects are not text and are never inflated. */
const binaryPart = /^word\/(?:media|embeddings)\//;

/** mammoth's prefix for the ids of its footnote and endnote links, so that they can be found in its HTML. */
const notePrefix = 'docx-';
/** mammoth's reference marks ("[1]" linking to a note) and the list of notes it puts after the body. */
const noteReference = new RegExp(
  `<sup><a href="#${notePrefix}(?:footnote|endnote)-[^"]*" id="[^"]*">[^<]*</a></sup>`,
  'g',
);
const noteList = new RegExp(`<ol><li id="${notePrefix}(?:footnote|endnote)-[\\s\\S]*$`);

/**
 * DOCX through mammoth, which maps Word's paragraph styles to semantic HTML (Heading 1 -> h1, lists, tables); that
 * HTML then goes through the HTML extractor, so headings become the heading path the same way for both formats.
 * The archive is read once, under the decompression budget; mammoth gets an archive rebuilt from exactly those
 * inflated parts (stored, not compressed), so it cannot read anything the budget did not count.
 */
export async function extractDocx(bytes: Uint8Array, limits: ExtractionLimits): Promise<ExtractedDocument> {
  const parts = readZipEntries(bytes, (name) => !binaryPart.test(name), limits.maxDecompressedBytes, 'DOCX');
  if (!parts.has('word/document.xml'))
    throw new AppError(
      'validation_failed',
      'the DOCX has no word/document.xml (the main document part is missing)',
      {
        retryable: false,
      },
    );
  // mammoth parses the parts with its own XML parser: every one is checked here first.
  for (const [name, data] of parts) if (/\.(?:xml|rels)$/.test(name)) refuseDtd(data, name, 'DOCX');
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(zipSync(Object.fromEntries(parts), { level: 0 })) },
      {
        // Word's Title style is the document's title; mammoth leaves it a plain paragraph by default.
        styleMap: ["p[style-name='Title'] => h1:fresh"],
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
        externalFileAccess: false,
        idPrefix: notePrefix,
      },
    );
    html = result.value;
  } catch (error) {
    throw new AppError(
      'validation_failed',
      `the DOCX cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
  // The notes come from their own parts (docx-notes.ts), after the body, each kind under its own heading.
  const body = html.replace(noteReference, '').replace(noteList, '');
  const notes = docxNoteSections(parts)
    .map(
      ({ label, paragraphs }) =>
        `<h1>${escapeHtml(label)}</h1>${paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('')}`,
    )
    .join('');
  const document = extractHtml(body + notes, {
    maxTextChars: limits.maxTextChars,
    mediaType: mediaTypes.docx,
    keepAll: true,
  });
  // The core properties' title, else the first Title or Heading 1 paragraph of the body (not a notes heading).
  const bodyTitle = /<h1[\s>]/.test(body) ? document.title : null;
  return { ...document, title: coreTitle(parts, 'DOCX') ?? bodyTitle };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
