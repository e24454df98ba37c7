import { AppError, isAppError } from '@rag/contracts/app-error';
import { Unzip, type UnzipFile, UnzipInflate, unzipSync } from 'fflate';
import { limitExceeded } from './extraction-limits.js';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  declaredSize: number;
}

/**
 * Compressed input handed to the inflater at a time; the size check runs between slices. Deflate expands at most
 * about 1032:1, so one 4 KiB slice yields at most about 4 MiB: that is how far past the budget inflation can get.
 */
const pushSliceBytes = 4 * 1024;

export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    (bytes[2] === 0x03 || bytes[2] === 0x05) &&
    (bytes[3] === 0x04 || bytes[3] === 0x06)
  );
}

/** The entries named in the central directory; nothing is inflated. */
export function listZipEntries(bytes: Uint8Array, what: string): ZipEntryInfo[] {
  const entries: ZipEntryInfo[] = [];
  try {
    unzipSync(bytes, {
      filter: (file) => {
        entries.push({ name: file.name, compressedSize: file.size, declaredSize: file.originalSize });
        return false;
      },
    });
  } catch (error) {
    throw new AppError(
      'validation_failed',
      `the ${what} is not a readable ZIP archive (${describe(error)})`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
  return entries;
}

/**
 * Inflates the wanted entries of an OOXML archive with a budget of `maxBytes` for all of them together. The
 * sizes declared in the central directory are checked before anything is inflated (a classic bomb declares its
 * size honestly and fails here at once); the actual output is counted while streaming, 4 KiB of input at a time,
 * so an archive that lies about its sizes stops within about 4 MiB past the budget instead of filling memory.
 */
export function readZipEntries(
  bytes: Uint8Array,
  wanted: (name: string) => boolean,
  maxBytes: number,
  what: string,
): Map<string, Uint8Array> {
  const listed = listZipEntries(bytes, what).filter((entry) => wanted(entry.name));
  const declared = listed.reduce((sum, entry) => sum + entry.declaredSize, 0);
  if (declared > maxBytes) throw limitExceeded('maxDecompressedBytes', maxBytes, declared);

  const chunks = new Map<string, Uint8Array[]>();
  let inflated = 0;
  let failure: unknown = null;
  const unzip = new Unzip((file: UnzipFile) => {
    if (!wanted(file.name) || chunks.has(file.name)) return;
    const parts: Uint8Array[] = [];
    chunks.set(file.name, parts);
    file.ondata = (error, data) => {
      if (failure !== null) return;
      if (error) {
        failure = error;
        return;
      }
      inflated += data.length;
      if (inflated > maxBytes) {
        failure = limitExceeded('maxDecompressedBytes', maxBytes, inflated);
        file.terminate();
        return;
      }
      parts.push(data);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    for (let offset = 0; offset < bytes.length && failure === null; offset += pushSliceBytes) {
      const end = Math.min(offset + pushSliceBytes, bytes.length);
      unzip.push(bytes.subarray(offset, end), end === bytes.length);
    }
  } catch (error) {
    failure ??= error;
  }
  if (failure !== null) {
    if (isAppError(failure)) throw failure;
    throw new AppError('validation_failed', `the ${what} has a damaged ZIP entry (${describe(failure)})`, {
      retryable: false,
      cause: failure,
    });
  }

  const files = new Map<string, Uint8Array>();
  for (const [name, parts] of chunks) files.set(name, concat(parts));
  return files;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
