import { open, readFile, stat } from 'node:fs/promises';
import { isAppError } from '@rag/contracts/app-error';
import { detectBinaryFormat, detectTextFormat } from '@rag/documents/media-type-detection';
import { decodeText } from '@rag/documents/text-decoding';
import { isZip } from '@rag/documents/zip-archive';

export type FileVerdict =
  | { kind: 'send'; format: string; size: number }
  | { kind: 'skip'; reason: string; size: number };

/** Enough to tell every format by its head; a ZIP is read whole, since its directory sits at the end. */
const headBytes = 64 * 1024;

/**
 * Whether the server would take a file, decided the way the server decides (the same detection code,
 * by content, not by extension): PDF, DOCX, XLSX, PPTX, and text in any encoding it can read (HTML,
 * Markdown, CSV, plain). Files it would refuse are skipped with its own reason, so nothing is sent that
 * can only fail, and nothing it reads is left behind.
 */
export async function classifyFile(path: string): Promise<FileVerdict> {
  const { size } = await stat(path);
  if (size === 0) return { kind: 'skip', reason: 'empty file', size };
  const head = await readHead(path, Math.min(size, headBytes));
  try {
    const binary = detectBinaryFormat(isZip(head) ? await readFile(path) : head);
    if (binary !== null) return { kind: 'send', format: binary, size };
    // Only the head is decoded: a multi-byte character cut at its end is one replaced character at most.
    const decoded = decodeText(head);
    if (size <= headBytes && decoded.text.trim() === '') return { kind: 'skip', reason: 'no text', size };
    const format = detectTextFormat(decoded.text, { filename: path });
    return { kind: 'send', format: `${format} (${decoded.encoding})`, size };
  } catch (error) {
    if (isAppError(error)) return { kind: 'skip', reason: error.message, size };
    throw error;
  }
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
