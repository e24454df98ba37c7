/**
 * Character ranges in `text` where terms of the query occur, case-insensitively; overlapping and touching
 * ranges are merged. Terms are runs of letters and digits of at least two characters, except in scripts
 * written without spaces: there a run of Han or Katakana is split into character bigrams (a single
 * character stands alone), so 「梅雨の時期」 marks 梅雨 and 時期 wherever they occur. Hiragana runs are mostly
 * particles and inflections and are not highlighted on their own.
 */
export interface Highlight {
  start: number;
  end: number;
}

const spacedWordPattern = /[\p{L}\p{N}]+/gu;
const unspacedRunPattern = /[\p{Script=Han}\p{Script=Katakana}ー]+/gu;
const unspacedCharPattern = /[\p{Script=Han}\p{Script=Katakana}\p{Script=Hiragana}ー]/gu;

export function queryTerms(query: string): string[] {
  const lower = query.toLowerCase();
  const terms = new Set<string>();
  for (const [word] of lower.matchAll(spacedWordPattern)) {
    for (const [run] of word.matchAll(unspacedRunPattern)) {
      const chars = [...run];
      if (chars.length === 1) terms.add(run);
      for (let i = 0; i + 1 < chars.length; i++) terms.add(`${chars[i]}${chars[i + 1]}`);
    }
    const spaced = word.replace(unspacedCharPattern, ' ');
    for (const [part] of spaced.matchAll(spacedWordPattern)) if (part.length >= 2) terms.add(part);
  }
  return [...terms];
}

export function highlightTerms(text: string, query: string, limit = 32): Highlight[] {
  const terms = queryTerms(query);
  if (terms.length === 0) return [];
  const escaped = terms
    .sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('|'), 'giu');
  const ranges: Highlight[] = [];
  // Bigrams overlap ("梅雨" and "雨の"), so every position is tried, not just the end of the last match.
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    const last = ranges.at(-1);
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else {
      if (ranges.length >= limit) break;
      ranges.push({ start, end });
    }
    pattern.lastIndex = start + 1;
  }
  return ranges;
}
