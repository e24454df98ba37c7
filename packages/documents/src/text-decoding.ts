import { AppError } from '@rag/contracts/app-error';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'shift_jis' | 'euc-jp' | 'windows-1252';

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
  /** True when invalid bytes were replaced with U+FFFD rather than rejected. */
  lossy: boolean;
}

const sampleBytes = 64 * 1024;

/**
 * Decodes a text file whose encoding nobody declared. Order: a byte-order mark decides; else strict UTF-8 (the
 * usual case, and Shift_JIS/EUC-JP text is almost never valid UTF-8); else UTF-16 and the Japanese legacy encodings
 * are each decoded strictly and the one whose characters look most like real text wins (EUC-JP read as Shift_JIS
 * turns into half-width katakana, which scores low). Else UTF-8 with replacement characters when only a few bytes
 * are bad, else Windows-1252 for text without control bytes. Anything else is binary and rejected.
 * The decoders are the WHATWG ones built into Node (full ICU), so there is no second code table to trust.
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  const bom = decodeWithBom(bytes);
  if (bom) return bom;

  const utf8 = tryDecode('utf-8', bytes);
  if (utf8 !== null) return { text: utf8, encoding: 'utf-8', lossy: false };

  let best: { encoding: TextEncodingName; score: number } | null = null;
  for (const encoding of ['utf-16le', 'utf-16be', 'shift_jis', 'euc-jp'] as const) {
    if (encoding.startsWith('utf-16') && bytes.length % 2 !== 0) continue;
    const sample = tryDecode(encoding, sampleOf(bytes, encoding));
    if (sample === null) continue;
    const score = textLikeness(sample);
    if (!best || score > best.score) best = { encoding, score };
  }
  if (best && best.score >= 0.8) {
    const text = tryDecode(best.encoding, bytes);
    if (text !== null) return { text, encoding: best.encoding, lossy: false };
  }

  const lossyUtf8 = new TextDecoder('utf-8').decode(bytes);
  const replaced = countMatches(lossyUtf8, /\ufffd/g);
  if (replaced <= Math.max(1, lossyUtf8.length * 0.01) && controlByteRatio(bytes) < 0.01)
    return { text: lossyUtf8, encoding: 'utf-8', lossy: true };

  if (controlByteRatio(bytes) < 0.01)
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252', lossy: false };

  throw new AppError(
    'unsupported_media_type',
    'binary content of an unknown type (not a supported document format)',
    {
      retryable: false,
    },
  );
}

/** Windows-1252 differs from Latin-1 in 0x80-0x9F (€, curly quotes, dashes); undefined bytes stay as they are. */
const windows1252High =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * Node's TextDecoder decodes the "windows-1252" label as plain Latin-1 (ISO-8859-1) (unlike the WHATWG table), so the 32 bytes
 * where the two differ are mapped here.
 */
function decodeWindows1252(bytes: Uint8Array): string {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return latin1.replace(/\p{Cc}/gu, (char) => {
    const code = char.charCodeAt(0);
    return code >= 0x80 && code <= 0x9f ? (windows1252High[code - 0x80] as string) : char;
  });
}

function decodeWithBom(bytes: Uint8Array): DecodedText | null {
  const [a, b, c] = bytes;
  let encoding: TextEncodingName | null = null;
  if (a === 0xef && b === 0xbb && c === 0xbf) encoding = 'utf-8';
  else if (a === 0xff && b === 0xfe) encoding = 'utf-16le';
  else if (a === 0xfe && b === 0xff) encoding = 'utf-16be';
  if (encoding === null) return null;
  // The WHATWG decoder strips the BOM itself; a bad sequence after a BOM is damage, not a different encoding.
  const strict = tryDecode(encoding, bytes);
  if (strict !== null) return { text: strict, encoding, lossy: false };
  return { text: new TextDecoder(encoding).decode(bytes), encoding, lossy: true };
}

function tryDecode(encoding: TextEncodingName, bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** A prefix cut so that it does not end inside a character of the given encoding (the strict decoder would fail). */
function sampleOf(bytes: Uint8Array, encoding: TextEncodingName): Uint8Array {
  if (bytes.length <= sampleBytes) return bytes;
  let end = sampleBytes;
  if (encoding === 'shift_jis' || encoding === 'euc-jp') {
    // Cut after an ASCII byte, which is never part of a multi-byte character in either encoding.
    while (end > 0 && (bytes[end - 1] ?? 0) >= 0x80) end--;
  } else {
    // Do not split a surrogate pair: back up to the start of a code unit that is not a low surrogate.
    const highByte = (index: number) => (encoding === 'utf-16le' ? bytes[index + 1] : bytes[index]) ?? 0;
    while (end > 2 && highByte(end - 2) >= 0xd8 && highByte(end - 2) <= 0xdb) end -= 2;
  }
  return bytes.subarray(0, end);
}

/** Share of characters that ordinary text is made of: ASCII, common punctuation, kana, CJK ideographs, Latin. */
function textLikeness(text: string): number {
  if (text.length === 0) return 0;
  let good = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if ((code >= 0x20 && code < 0x7f) || code === 0x0a || code === 0x0d || code === 0x09) good += 1;
    else if (code >= 0x3000 && code <= 0x30ff)
      good += 1; // CJK punctuation, hiragana, katakana
    else if (code >= 0x4e00 && code <= 0x9fff)
      good += 0.9; // CJK ideographs: a third of random UTF-16 too, hence < 1
    else if (code >= 0xff01 && code <= 0xff5e)
      good += 1; // full-width ASCII
    else if (code >= 0xa0 && code <= 0x24f)
      good += 0.8; // Latin-1 and Latin extended
    else if (code >= 0xff61 && code <= 0xff9f) good += 0.2; // half-width katakana: EUC-JP misread as Shift_JIS
  }
  return good / [...text].length;
}

function controlByteRatio(bytes: Uint8Array): number {
  const sample = bytes.subarray(0, sampleBytes);
  if (sample.length === 0) return 0;
  let controls = 0;
  for (const byte of sample)
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) controls++;
  return controls / sample.length;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
