/**
 * Where a text may be cut, and how good a cut each place is. A break position is the index where the next piece
 * would begin; the piece before it ends there (trailing whitespace is trimmed by the caller).
 */
export const breakLevel = {
  token: 0,
  word: 1,
  clause: 2,
  sentence: 3,
  line: 4,
  paragraph: 5,
} as const;

export type BreakLevel = (typeof breakLevel)[keyof typeof breakLevel];

/** Words whose trailing period does not end a sentence (compared case-insensitively, without the period). */
const abbreviations = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'mt',
  'no',
  'nos',
  'vol',
  'vols',
  'fig',
  'figs',
  'eq',
  'eqs',
  'ch',
  'sec',
  'pp',
  'p',
  'ed',
  'eds',
  'al',
  'etc',
  'vs',
  'cf',
  'e.g',
  'i.e',
  'approx',
  'inc',
  'ltd',
  'co',
  'corp',
  'dept',
  'univ',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'u.s',
  'u.k',
  'ph.d',
  'a.m',
  'p.m',
  'op',
  'art',
  'para',
  'ref',
  'refs',
  'est',
  'gen',
  'gov',
  'rev',
  'ave',
  'blvd',
]);

const closers = `"'”’)]}」』）］】〕〉》`;
const closerClass = `[${closers.replace(/[\]\\]/g, '\\$&')}]*`;

/**
 * Break positions of a text with their levels: paragraph (after a blank line), line (after a newline), sentence
 * (after 。！？ and full-width ．, or after . ! ? and a space where the period is not an abbreviation, an initial or
 * part of a number), clause (after 、，,;: and the like) and word (after whitespace). A position keeps its highest level.
 */
export function findBreakPoints(text: string): Map<number, BreakLevel> {
  const points = new Map<number, BreakLevel>();
  const mark = (position: number, level: BreakLevel) => {
    if (position <= 0 || position >= text.length) return;
    if ((points.get(position) ?? -1) < level) points.set(position, level);
  };

  for (const match of text.matchAll(/\s+/g)) {
    const after = match.index + match[0].length;
    const newlines = match[0].split('\n').length - 1;
    mark(after, newlines >= 2 ? breakLevel.paragraph : newlines === 1 ? breakLevel.line : breakLevel.word);
  }
  // CJK sentence ends need no space after them.
  for (const match of text.matchAll(new RegExp(`[。！？｡．]+(${closerClass})\\s*`, 'g'))) {
    const after = match.index + match[0].length;
    // 「本当ですか？」と聞いた: a quoted question followed by the quoting particle is inside the sentence.
    if (match[1] !== '' && /^[とっ]/.test(text[after] ?? '')) continue;
    mark(after, breakLevel.sentence);
  }
  for (const match of text.matchAll(new RegExp(`[!?]+${closerClass}\\s+`, 'g')))
    mark(match.index + match[0].length, breakLevel.sentence);
  for (const match of text.matchAll(new RegExp(`\\.+${closerClass}\\s+(?=\\S)`, 'g'))) {
    if (periodEndsSentence(text, match.index, match.index + match[0].length))
      mark(match.index + match[0].length, breakLevel.sentence);
  }
  for (const match of text.matchAll(/[、，,;；:：]\s*/g)) {
    const after = match.index + match[0].length;
    // "1,000" and "12:30" are numbers, not clauses.
    if (/\d/.test(text[match.index - 1] ?? '') && /\d/.test(text[after] ?? '')) continue;
    mark(after, breakLevel.clause);
  }
  return points;
}

function periodEndsSentence(text: string, periodIndex: number, nextIndex: number): boolean {
  const word = /([\p{L}\p{N}.]+)$/u.exec(text.slice(Math.max(0, periodIndex - 20), periodIndex))?.[1] ?? '';
  if (abbreviations.has(word.toLowerCase())) return false;
  // A single capital before the period is an initial ("J. Smith").
  if (/^\p{Lu}$/u.test(word)) return false;
  const next = text[nextIndex] ?? '';
  // A sentence starts with a capital, a digit, a quote or bracket, or a non-Latin script; "e.g. the" does not.
  return !/\p{Ll}/u.test(next);
}

const windowUnits = 32;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Whether cutting at `position` keeps every user-perceived character whole (surrogate pairs, combining marks, ZWJ emoji). */
export function isGraphemeBoundary(text: string, position: number): boolean {
  if (position <= 0 || position >= text.length) return true;
  // Segment a window around the position only: segmenting the whole text per call would be quadratic, and a
  // grapheme cluster is never anywhere near this long.
  const from = Math.max(0, position - windowUnits);
  const window = text.slice(from, position + windowUnits);
  return graphemes.segment(window).containing(position - from)?.index === position - from;
}
