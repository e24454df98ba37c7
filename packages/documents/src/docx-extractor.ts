import { AppError } from '@rag/contracts/app-error';
import { zipSync } from 'fflate';
import mammoth from 'mammoth';
import { cleanBlock } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';
import { extractHtml } from './html-extractor.js';
import { child, parseXmlPart, refuseDtd, textOf } from './ooxml-xml.js';
import { readZipEntries } from './zip-archive.js';

/** Images and embedded objects are not text and are never inflated. */
const binaryPart = /^word\/(?:media|embeddings)\//;

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
