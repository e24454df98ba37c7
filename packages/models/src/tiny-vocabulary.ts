import { commonEnglishWords } from './common-english-words.js';

/** XLM-R's special-token ids, which the tiny model shares so that code paths match the real BGE-M3. */
export const tinySpecialTokens = [
  { id: 0, content: '<s>' },
  { id: 1, content: '<pad>' },
  { id: 2, content: '</s>' },
  { id: 3, content: '<unk>' },
] as const;

export const continuationPrefix = '##';

/** How much a token says about a text; drives both its sparse weight and its share of the dense vector. */
export type TokenClass = 'special' | 'word' | 'bigram' | 'character' | 'ideograph' | 'punctuation';

export interface VocabularyEntry {
  token: string;
  tokenClass: TokenClass;
  /** Position in its class list, used to rank common words by frequency. */
  rank: number;
}

/**
 * The tiny model's WordPiece vocabulary: specials, common English words, letter bigrams and single characters,
 * with "##" continuation forms, so that any text in the covered scripts tokenises without falling back to
 * <unk> (WordPiece turns a whole word into <unk> when one of its characters is missing). Bigrams make out-of-
 * vocabulary words split into pieces that are more distinctive than single letters.
 */
export function buildTinyVocabulary(): VocabularyEntry[] {
  const entries: VocabularyEntry[] = [];
  const seen = new Set<string>();
  const add = (token: string, tokenClass: TokenClass, rank = 0): void => {
    if (seen.has(token)) return;
    seen.add(token);
    entries.push({ token, tokenClass, rank });
  };

  for (const special of tinySpecialTokens) add(special.content, 'special');
  commonEnglishWords.forEach((word, rank) => {
    add(word, 'word', rank);
  });

  const letters = charRange(0x61, 0x7a);
  for (const first of letters) {
    for (const second of letters) {
      add(first + second, 'bigram');
      add(continuationPrefix + first + second, 'bigram');
    }
  }

  for (const char of charRange(0x21, 0x7e)) {
    const alphanumeric = /[0-9A-Za-z]/.test(char);
    add(char, alphanumeric ? 'character' : 'punctuation');
    if (alphanumeric) add(continuationPrefix + char, 'character');
  }

  const scripts = [
    // Latin-1 letters and Latin Extended-A: accents are kept (strip_accents is off), so they need entries.
    ...charRange(0xc0, 0x17f).filter((char) => char !== '\u00d7' && char !== '\u00f7'),
    ...charRange(0x3041, 0x3096), // hiragana
    ...charRange(0x3099, 0x309f),
    ...charRange(0x30a0, 0x30ff), // katakana
    ...charRange(0x3001, 0x303f), // CJK symbols and punctuation (without the ideographic space)
    ...charRange(0xff01, 0xff5e), // full-width ASCII
    ...charRange(0xff61, 0xff9f), // half-width katakana
  ];
  for (const char of scripts) {
    add(char, 'character');
    add(continuationPrefix + char, 'character');
  }

  // The BERT normaliser puts spaces around every CJK ideograph, so they never need a continuation form.
  for (const char of charRange(0x4e00, 0x9fff)) add(char, 'ideograph');
  return entries;
}

function charRange(first: number, last: number): string[] {
  const chars: string[] = [];
  for (let code = first; code <= last; code++) chars.push(String.fromCodePoint(code));
  return chars;
}
