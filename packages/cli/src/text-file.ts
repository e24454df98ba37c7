import { readFile } from 'node:fs/promises';
import { maxDocumentTextLength } from '@rag/contracts/public-api';

export type TextFile = { kind: 'text'; text: string } | { kind: 'skipped'; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a file as a document text, or says why it is not one: empty, binary (a NUL byte or invalid
 * UTF-8: images, PDFs, archives), or larger than the API accepts in one document.
 */
export async function readTextFile(path: string): Promise<TextFile> {
  const bytes = await readFile(path);
  if (bytes.length === 0) return { kind: 'skipped', reason: 'empty file' };
  if (bytes.includes(0)) return { kind: 'skipped', reason: 'binary file' };
  let text: string;
  try {
    // The decoder drops a leading byte order mark, so it does not end up in the document.
    text = utf8.decode(bytes);
  } catch {
    return { kind: 'skipped', reason: 'binary file (not UTF-8)' };
  }
  if (text.trim() === '') return { kind: 'skipped', reason: 'empty file' };
  if (text.length > maxDocumentTextLength) {
    return { kind: 'skipped', reason: `larger than ${maxDocumentTextLength} characters` };
  }
  return { kind: 'text', text };
}
