import { AppError } from '@rag/contracts/app-error';
import { type DocumentHints, mediaTypes, type SupportedMediaType } from './extracted-document.js';
import { type DecodedText, decodeText } from './text-decoding.js';
import { isZip, listZipEntries } from './zip-archive.js';

/** Binary formats that are recognized only to say clearly what was sent. */
const knownUnsupported: { name: string; magic: number[] }[] = [
  { name: 'PNG image', magic: [0x89, 0x50, 0x4e, 0x47] },
  { name: 'JPEG image', magic: [0xff, 0xd8, 0xff] },
  { name: 'GIF image', magic: [0x47, 0x49, 0x46, 0x38] },
  { name: 'gzip archive', magic: [0x1f, 0x8b] },
  { name: '7-Zip archive', magic: [0x37, 0x7a, 0xbc, 0xaf] },
  {
    name: 'legacy Microsoft Office (OLE2) file; save it as DOCX, XLSX or PPTX',
    magic: [0xd0, 0xcf, 0x11, 0xe0],
  },
  { name: 'RTF document', magic: [0x7b, 0x5c, 0x72, 0x74, 0x66] },
];

export type BinaryFormat = 'pdf' | 'docx' | 'xlsx' | 'pptx';

/**
 * The binary format of the bytes, from their content only: a file name or a declared type that disagrees with the
 * content is ignored (a PDF named report.docx is read as a PDF). Null means "not a binary format": the bytes are
 * then decoded as text. Throws unsupported_media_type for binary formats this system does not read.
 */
export function detectBinaryFormat(bytes: Uint8Array): BinaryFormat | null {
  // PDF readers accept the header anywhere in the first KiB (some files start with junk or a BOM).
  if (indexOfAscii(bytes.subarray(0, 1024), '%PDF-') >= 0) return 'pdf';
  if (isZip(bytes)) return detectOoxml(bytes);
  for (const format of knownUnsupported) {
    if (format.magic.every((byte, index) => bytes[index] === byte))
      throw new AppError('unsupported_media_type', `unsupported file type: ${format.name}`, {
        retryable: false,
      });
  }
  return null;
}

function detectOoxml(bytes: Uint8Array): BinaryFormat {
  const names = listZipEntries(bytes, 'ZIP archive').map((entry) => entry.name);
  // The part folders tell the kind even when the main part itself is missing, so a DOCX without
  // word/document.xml fails as a damaged DOCX rather than as an unknown ZIP.
  if (names.some((name) => name.startsWith('word/'))) return 'docx';
  if (names.some((name) => name.startsWith('xl/'))) return 'xlsx';
  if (names.some((name) => name.startsWith('ppt/'))) return 'pptx';
  throw new AppError(
    'unsupported_media_type',
    'unsupported file type: a ZIP archive that is not DOCX, XLSX or PPTX',
    {
      retryable: false,
    },
  );
}

export type TextFormat = 'html' | 'markdown' | 'csv' | 'plain';

export type DocumentFormat =
  | { kind: 'binary'; format: BinaryFormat }
  | { kind: 'text'; format: TextFormat; decoded: DecodedText };

/**
 * The one decision of what a file is, for the server and for the CLI that decides what to send it. The content
 * decides (detectBinaryFormat, then decodeText and detectTextFormat), with one exception: a file whose name or
 * declared type says PDF, DOCX, XLSX or PPTX but whose bytes are none of them is taken as text only when it is
 * plainly text (UTF-8 without damage); anything else is a damaged or mislabelled file, and reading it as some
 * legacy encoding would index garbage under the user's file name.
 */
export function detectDocumentFormat(bytes: Uint8Array, hints: DocumentHints): DocumentFormat {
  const binary = detectBinaryFormat(bytes);
  if (binary !== null) return { kind: 'binary', format: binary };
  const claimed = claimedBinaryFormat(hints);
  let decoded: DecodedText;
  try {
    decoded = decodeText(bytes);
  } catch (error) {
    if (claimed) throw notTheClaimedFormat(claimed, hints);
    throw error;
  }
  if (claimed && (decoded.encoding !== 'utf-8' || decoded.lossy)) throw notTheClaimedFormat(claimed, hints);
  return { kind: 'text', format: detectTextFormat(decoded.text, hints), decoded };
}

const binaryFormats: readonly BinaryFormat[] = ['pdf', 'docx', 'xlsx', 'pptx'];

/** The binary format a file's declared type, else its extension, names; null when they name none. */
function claimedBinaryFormat(hints: DocumentHints): BinaryFormat | null {
  const declared = declaredType(hints);
  const byType = binaryFormats.find((format) => mediaTypes[format] === declared);
  if (byType) return byType;
  const extension = extensionOf(hints);
  return binaryFormats.find((format) => format === extension) ?? null;
}

/** The declared media type without its parameters, lower case. */
function declaredType(hints: DocumentHints): string | undefined {
  return hints.mediaType?.split(';')[0]?.trim().toLowerCase();
}

/** The file name's extension without the dot, lower case. */
function extensionOf(hints: DocumentHints): string | undefined {
  return hints.filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
}

function notTheClaimedFormat(format: BinaryFormat, hints: DocumentHints): AppError {
  const name = format.toUpperCase();
  const file = hints.filename ? `"${hints.filename}"` : 'the file';
  const header =
    format === 'pdf' ? 'no %PDF- header' : 'not a ZIP archive with the parts of an Office Open XML file';
  return new AppError(
    'unsupported_media_type',
    `${file} is labelled ${name} but is not a ${name} (${header}) and not readable text: it is damaged, truncated or of another type`,
    { retryable: false },
  );
}

/**
 * The kind of a text document. Content that is unmistakably HTML is HTML whatever its name; otherwise the declared
 * type, then the file extension, chooses between Markdown, CSV and HTML fragments, and plain text is the default
 * (Markdown read as plain text still gives the right words).
 */
export function detectTextFormat(text: string, hints: DocumentHints): TextFormat {
  const head = text.slice(0, 1024).trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || /^<\?xml[^>]*>\s*<html/.test(head))
    return 'html';
  const declared = declaredType(hints);
  if (declared === 'text/html' || declared === 'application/xhtml+xml') return 'html';
  if (declared === 'text/markdown' || declared === 'text/x-markdown') return 'markdown';
  if (declared === 'text/csv' || declared === 'text/tab-separated-values') return 'csv';
  const extension = extensionOf(hints);
  if (extension === 'html' || extension === 'htm' || extension === 'xhtml') return 'html';
  if (extension === 'md' || extension === 'markdown') return 'markdown';
  if (extension === 'csv' || extension === 'tsv') return 'csv';
  return 'plain';
}

export function textFormatMediaType(format: TextFormat): SupportedMediaType {
  return mediaTypes[format];
}

function indexOfAscii(bytes: Uint8Array, needle: string): number {
  const codes = [...needle].map((char) => char.charCodeAt(0));
  outer: for (let i = 0; i + codes.length <= bytes.length; i++) {
    for (let j = 0; j < codes.length; j++) if (bytes[i + j] !== codes[j]) continue outer;
    return i;
  }
  return -1;
}
