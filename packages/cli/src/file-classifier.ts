import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { isAppError } from '@rag/contracts/app-error';
import { detectDocumentFormat } from '@rag/documents/media-type-detection';
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
    // Only the head of a text is decoded, ending before a UTF-8 character its cut would split (a replaced
    // character would make plain UTF-8 look damaged).
    const sample = isZip(head)
      ? await readFile(path)
      : size > head.length
        ? withoutSplitCharacter(head)
        : head;
    const detected = detectDocumentFormat(sample, { filename: basename(path) });
    if (detected.kind === 'binary') return { kind: 'send', format: detected.format, size };
    const { decoded, format } = detected;
    if (size <= headBytes && decoded.text.trim() === '') return { kind: 'skip', reason: 'no text', size };
    return { kind: 'send', format: `${format} (${decoded.encoding})`, size };
  } catch (error) {
    if (isAppError(error)) return { kind: 'skip', reason: error.message, size };
    throw error;
  }
}

/** The head without the bytes of a last UTF-8 character that does not end in it (at most 3 bytes). */
function withoutSplitCharacter(head: Uint8Array): Uint8Array {
  let start = head.length - 1;
  while (start > 0 && head.length - start < 4 && ((head[start] ?? 0) & 0xc0) === 0x80) start--;
  const lead = head[start] ?? 0;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + length > head.length ? head.subarray(0, start) : head;
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
