import { AppError, isAppError } from '@rag/contracts/app-error';
import { Inflate } from 'fflate';
import { limitExceeded } from './extraction-limits.js';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  declaredSize: number;
  /** 0 stored, 8 deflate; nothing else occurs in OOXML. */
  method: number;
  /** Where the entry's local header starts. */
  localHeaderOffset: number;
}

/**
 * Compressed input handed to the inflater at a time; the size check runs between slices. Deflate expands at most
 * about 1032:1, so one 4 KiB slice yields at most about 4 MiB: that is how far past the budget inflation can get.
 */
const pushSliceBytes = 4 * 1024;

const endOfCentralDirectory = 0x06054b50;
const centralHeader = 0x02014b50;
const localHeader = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 65535. */
const maxEndRecordSearch = 22 + 0xffff;

export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    (bytes[2] === 0x03 || bytes[2] === 0x05) &&
    (bytes[3] === 0x04 || bytes[3] === 0x06)
  );
}

/**
 * The entries named in the central directory, the archive's table of contents; nothing is inflated. This is the
 * one listing every reader here goes by: the format detection, the budget and the parsers.
 */
export function listZipEntries(bytes: Uint8Array, what: string): ZipEntryInfo[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - maxEndRecordSearch); i--)
    if (view.getUint32(i, true) === endOfCentralDirectory) {
      end = i;
      break;
    }
  if (end < 0) throw unreadable(what, 'no end of central directory record');
  const count = view.getUint16(end + 10, true);
  const size = view.getUint32(end + 12, true);
  const start = view.getUint32(end + 16, true);
  if (count === 0xffff || size === 0xffffffff || start === 0xffffffff)
    throw unreadable(what, 'ZIP64 archives are not read');
  if (start + size > end) throw unreadable(what, 'the central directory lies outside the archive');
  const entries: ZipEntryInfo[] = [];
  const names = new Set<string>();
  let offset = start;
  for (let index = 0; index < count; index++) {
    if (offset + 46 > end || view.getUint32(offset, true) !== centralHeader)
      throw unreadable(what, `central directory entry ${index + 1} is damaged`);
    const nameLength = view.getUint16(offset + 28, true);
    const entry: ZipEntryInfo = {
      name: decodeName(bytes.subarray(offset + 46, offset + 46 + nameLength)),
      method: view.getUint16(offset + 10, true),
      compressedSize: view.getUint32(offset + 20, true),
      declaredSize: view.getUint32(offset + 24, true),
      localHeaderOffset: view.getUint32(offset + 42, true),
    };
    if (entry.compressedSize === 0xffffffff || entry.declaredSize === 0xffffffff)
      throw unreadable(what, 'ZIP64 archives are not read');
    // Two entries of one name: readers disagree on which one counts, so an archive with them is not read.
    if (names.has(entry.name)) throw unreadable(what, `the entry ${entry.name} is listed twice`);
    names.add(entry.name);
    entries.push(entry);
    offset += 46 + nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return entries;
}

/**
 * Inflates the wanted entries of an OOXML archive with a budget of `maxBytes` for all of them together, going by
 * the central directory (as every ZIP reader that parses the file afterwards does). The sizes declared there are
 * checked before anything is inflated (a classic bomb declares its size honestly and fails here at once); the
 * actual output is counted while inflating, 4 KiB of input at a time, so an archive that lies about its sizes
 * stops within about 4 MiB past the budget instead of filling memory. An entry whose local header names another
 * file than the central directory does is refused: that is how a file shows one reader content another skips.
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

  const files = new Map<string, Uint8Array>();
  const budget = { used: 0, maxBytes };
  for (const entry of listed) files.set(entry.name, inflateEntry(bytes, entry, budget, what));
  return files;
}

function inflateEntry(
  bytes: Uint8Array,
  entry: ZipEntryInfo,
  budget: { used: number; maxBytes: number },
  what: string,
): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== localHeader)
    throw damaged(what, entry.name, 'its local header is missing');
  const nameLength = view.getUint16(at + 26, true);
  const localName = decodeName(bytes.subarray(at + 30, at + 30 + nameLength));
  if (localName !== entry.name)
    throw damaged(
      what,
      entry.name,
      `its local header names "${localName}": the local headers and the central directory disagree`,
    );
  const dataStart = at + 30 + nameLength + view.getUint16(at + 28, true);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > bytes.length) throw damaged(what, entry.name, 'its data runs past the end of the archive');
  const data = bytes.subarray(dataStart, dataEnd);

  const count = (length: number) => {
    budget.used += length;
    if (budget.used > budget.maxBytes)
      throw limitExceeded('maxDecompressedBytes', budget.maxBytes, budget.used);
  };
  if (entry.method === 0) {
    count(data.length);
    return data.slice();
  }
  if (entry.method !== 8)
    throw damaged(what, entry.name, `compression method ${entry.method} is not used by OOXML`);
  const parts: Uint8Array[] = [];
  let failure: unknown = null;
  const inflate = new Inflate((chunk) => {
    if (failure !== null) return;
    try {
      count(chunk.length);
      parts.push(chunk);
    } catch (error) {
      failure = error;
    }
  });
  try {
    for (let offset = 0; offset < data.length && failure === null; offset += pushSliceBytes) {
      const end = Math.min(offset + pushSliceBytes, data.length);
      inflate.push(data.subarray(offset, end), end === data.length);
    }
    if (data.length === 0) inflate.push(new Uint8Array(0), true);
  } catch (error) {
    failure ??= error;
  }
  if (failure !== null) {
    if (isAppError(failure)) throw failure;
    throw damaged(what, entry.name, describe(failure));
  }
  return concat(parts);
}

/** OOXML part names are ASCII (or UTF-8 with bit 11 of the flags set); either way UTF-8 reads them. */
function decodeName(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
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

function unreadable(what: string, reason: string): AppError {
  return new AppError('validation_failed', `the ${what} is not a readable ZIP archive (${reason})`, {
    retryable: false,
  });
}

function damaged(what: string, name: string, reason: string): AppError {
  return new AppError('validation_failed', `the ${what} has a damaged ZIP entry ${name} (${reason})`, {
    retryable: false,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
