import { AppError } from '@rag/contracts/app-error';
import chardet from 'chardet';
import iconv from 'iconv-lite';

/** The encoding a text was read as, in iconv-lite's spelling ('utf-8', 'shift_jis', 'gb18030', 'windows-1251', ...). */
export type TextEncodingName = string;

export interface DecodedText {
  text: string;
  encoding: TextEncodingName;
  /** True when invalid bytes were replaced with U+FFFD rather than rejected. */
  lossy: boolean;
}

const sampleBytes = 64 * 1024;

/**
 * chardet's confidence (0-100) from which its guess is taken as it is. Its statistical detectors give a realistic
 * paragraph of Chinese, Korean, Japanese or Russian (about 20 characters and more) 50-100; a lone word or two can
 * score lower, or as another encoding of the same script family.
 */
const confidentAt = 50;

/**
 * chardet names that are decoded as a superset: WHATWG (and every browser) reads ISO-8859-1 as Windows-1252, and
 * GB18030 contains GBK and GB2312.
 */
const supersetOf: Record<string, string> = { 'iso-8859-1': 'windows-1252' };

/** Encodings never guessed: 7-bit ISO-2022 text is valid UTF-8 already, and UTF-32 without a BOM is not seen. */
const neverGuessed = /^(?:iso-2022|utf-32)/;

/**
 * Decodes a text file whose encoding nobody declared. Order: a byte-order mark decides; else strict UTF-8 (the
 * usual case; legacy multi-byte text is almost never valid UTF-8) unless NUL bytes are more than a stray one;
 * else UTF-8 with replacement characters when only a few bytes are bad and the rest holds real multi-byte UTF-8
 * characters; else the best guess among the legacy encodings chardet ranks (GB18030/GBK, Big5, EUC-KR, Shift_JIS, EUC-JP, Windows-125x, KOI8-R,
 * ISO-8859-x) and BOM-less UTF-16 (see bestGuess); else lossy UTF-8 when only a few bytes are bad; else
 * Windows-1252 for content without control bytes. Anything else is binary and rejected. Legacy encodings are
 * decoded by iconv-lite, so no code table is written here.
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  const bom = decodeWithBom(bytes);
  if (bom) return bom;

  // NUL is valid UTF-8, but text does not hold it in any number: that is BOM-less UTF-16 (every other byte of
  // ASCII text) or binary content, told apart below.
  const utf8 = nulByteRatio(bytes) < 0.01 ? tryDecode('utf-8', bytes) : null;
  if (utf8 !== null) return { text: utf8, encoding: 'utf-8', lossy: false };

  const lossyUtf8 = new TextDecoder('utf-8').decode(bytes);
  const fewBad =
    countMatches(lossyUtf8, /\ufffd/g) <= Math.max(1, lossyUtf8.length * 0.01) &&
    controlByteRatio(bytes) < 0.01;
  if (fewBad && /[\u0080-\ufffc\ufffe-\u{10ffff}]/u.test(lossyUtf8))
    return { text: lossyUtf8, encoding: 'utf-8', lossy: true };

  const guess = bestGuess(bytes);
  if (guess) return { text: decodeAs(bytes, guess), encoding: guess, lossy: false };

  if (fewBad) return { text: lossyUtf8, encoding: 'utf-8', lossy: true };

  if (controlByteRatio(bytes) < 0.01) {
    const text = iconv.decode(Buffer.from(bytes), 'windows-1252');
    return { text, encoding: 'windows-1252', lossy: text.includes('\ufffd') };
  }

  throw new AppError(
    'unsupported_media_type',
    'binary content of an unknown type (not a supported document format)',
    { retryable: false },
  );
}

interface Candidate {
  encoding: TextEncodingName;
  /** chardet's confidence, 0-100; none for UTF-16, which chardet does not detect without a BOM. */
  confidence: number;
  /** How much the decoded sample looks like text (see textLikeness). */
  likeness: number;
}

/**
 * The legacy encoding the bytes are in, or null. chardet ranks them by byte statistics; a ranked encoding counts
 * only if iconv-lite decodes the sample without a replacement character. A confident guess wins at once; on short
 * or ambiguous text, where chardet's statistics are thin, the candidate (BOM-less UTF-16 included) whose
 * characters look most like real text wins, chardet's order breaking ties.
 */
function bestGuess(bytes: Uint8Array): TextEncodingName | null {
  const candidates: Candidate[] = [];
  if (controlByteRatio(bytes) < 0.01) {
    const sample = cutSample(bytes.subarray(0, sampleBytes));
    for (const match of chardet.analyse(sample)) {
      if (match.confidence <= 0) continue;
      const name = match.name.toLowerCase();
      if (neverGuessed.test(name) || name.startsWith('utf-')) continue;
      const encoding = supersetOf[name] ?? name;
      if (!iconv.encodingExists(encoding) || candidates.some((c) => c.encoding === encoding)) continue;
      // iconv-lite replaces bytes that are invalid in the encoding; a guess that needs that is the wrong guess.
      const text = iconv.decode(Buffer.from(sample), encoding);
      if (text.includes('\ufffd')) continue;
      if (match.confidence >= confidentAt) return encoding;
      candidates.push({ encoding, confidence: match.confidence, likeness: textLikeness(text, true) });
    }
  }
  if (bytes.length % 2 === 0)
    for (const encoding of ['utf-16le', 'utf-16be'] as const) {
      const text = tryDecode(encoding, utf16Sample(bytes, encoding));
      if (text !== null) candidates.push({ encoding, confidence: 0, likeness: textLikeness(text, false) });
    }
  let best: Candidate | null = null;
  for (const candidate of candidates)
    if (candidate.likeness >= 0.8 && (!best || candidate.likeness > best.likeness)) best = candidate;
  if (best?.encoding.startsWith('utf-16') && tryDecode(best.encoding as 'utf-16le', bytes) === null)
    return null;
  return best?.encoding ?? null;
}

function decodeAs(bytes: Uint8Array, encoding: TextEncodingName): string {
  if (encoding === 'utf-16le' || encoding === 'utf-16be') return tryDecode(encoding, bytes) ?? '';
  return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding);
}

function decodeWithBom(bytes: Uint8Array): DecodedText | null {
  const [a, b, c] = bytes;
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | null = null;
  if (a === 0xef && b === 0xbb && c === 0xbf) encoding = 'utf-8';
  else if (a === 0xff && b === 0xfe) encoding = 'utf-16le';
  else if (a === 0xfe && b === 0xff) encoding = 'utf-16be';
  if (encoding === null) return null;
  // The WHATWG decoder strips the BOM itself; a bad sequence after a BOM is damage, not a different encoding.
  const strict = tryDecode(encoding, bytes);
  if (strict !== null) return { text: strict, encoding, lossy: false };
  return { text: new TextDecoder(encoding).decode(bytes), encoding, lossy: true };
}

function tryDecode(encoding: 'utf-8' | 'utf-16le' | 'utf-16be', bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** A UTF-16 prefix that does not end inside a surrogate pair (the strict decoder would fail). */
function utf16Sample(bytes: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): Uint8Array {
  if (bytes.length <= sampleBytes) return bytes;
  let end = sampleBytes;
  const highByte = (index: number) => (encoding === 'utf-16le' ? bytes[index + 1] : bytes[index]) ?? 0;
  while (end > 2 && highByte(end - 2) >= 0xd8 && highByte(end - 2) <= 0xdb) end -= 2;
  return bytes.subarray(0, end);
}

/**
 * A sample cut after an ASCII byte, so that it does not end inside a multi-byte character (which would decode as
 * a replacement character). In every multi-byte legacy encoding here a byte below 0x40 is never a trail byte.
 */
function cutSample(sample: Uint8Array): Uint8Array {
  if (sample.length < sampleBytes) return sample;
  let end = sample.length;
  while (end > 0 && (sample[end - 1] ?? 0) >= 0x40) end--;
  return end > 0 ? sample.subarray(0, end) : sample;
}

/**
 * Share of characters that ordinary text is made of: ASCII, common punctuation, kana, CJK ideographs, Latin, and
 * with `otherScripts` Hangul and Cyrillic. Those two are left out when judging BOM-less UTF-16: EUC-KR bytes read
 * as UTF-16BE land in the Hangul syllable block.
 */
function textLikeness(text: string, otherScripts: boolean): number {
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
    else if (code >= 0xff61 && code <= 0xff9f)
      good += 0.2; // half-width katakana: EUC-JP misread as Shift_JIS
    else if (otherScripts && code >= 0xac00 && code <= 0xd7a3)
      good += 0.9; // Hangul syllables
    else if (otherScripts && code >= 0x400 && code <= 0x4ff) good += 0.9; // Cyrillic
  }
  return good / [...text].length;
}

/** Share of the sample's bytes that are C0 controls other than tab, newline, carriage return and form feed. */
function controlByteRatio(bytes: Uint8Array): number {
  return sampleRatio(
    bytes,
    (byte) => byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c,
  );
}

function nulByteRatio(bytes: Uint8Array): number {
  return sampleRatio(bytes, (byte) => byte === 0);
}

/** Share of the first sampleBytes bytes that `counts` picks; 0 for no bytes. */
function sampleRatio(bytes: Uint8Array, counts: (byte: number) => boolean): number {
  const sample = bytes.subarray(0, sampleBytes);
  if (sample.length === 0) return 0;
  let counted = 0;
  for (const byte of sample) if (counts(byte)) counted++;
  return counted / sample.length;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
