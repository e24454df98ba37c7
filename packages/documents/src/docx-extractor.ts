import { AppError } from '@rag/contracts/app-error';
import mammoth from 'mammoth';
import { cleanBlock } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';
import { extractHtml } from './html-extractor.js';
import { child, parseXmlPart, textOf } from './ooxml-xml.js';
import { readZipEntries } from './zip-archive.js';

/** Images and embedded objects are not text and are never inflated. */
const binaryPart = /^word\/(?:media|embeddings)\//;

/**
 * DOCX through mammoth, which maps Word's paragraph styles to semantic HTML (Heading 1 -> h1, lists, tables); that
 * HTML then goes through the HTML extractor, so headings become the heading path the same way for both formats.
 * The archive is read once first under the decompression budget: mammoth's own unzip has no size checks, and after
 * this pass every part it will read is known to fit.
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
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      {
        // Word's Title style is the document's title; mammoth leaves it a plain paragraph by default.
        styleMap: ["p[style-name='Title'] => h1:fresh"],
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
        externalFileAccess: false,
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
  const core = parts.get('docProps/core.xml');
  const coreTitle = core ? runTitle(parseXmlPart(core, 'docProps/core.xml', 'DOCX')) : '';
  const document = extractHtml(html, {
    maxTextChars: limits.maxTextChars,
    mediaType: mediaTypes.docx,
    keepAll: true,
  });
  return { ...document, title: coreTitle || document.title };
}

function runTitle(core: ReturnType<typeof parseXmlPart>): string {
  const title = child(core, 'coreProperties', 'title');
  if (!title) return '';
  return cleanBlock(textOf(title), false);
}
