/**
 * Character ranges in `text` where words of the query occur, case-insensitively. Words are runs of letters
 * and digits of at least two characters; overlapping ranges are merged.
 */
export interface Highlight {
  start: number;
  end: number;
}

const wordPattern = /[\p{L}\p{N}]{2,}/gu;

export function highlightTerms(text: string, query: string, limit = 32): Highlight[] {
  const terms = [...new Set([...query.toLowerCase().matchAll(wordPattern)].map((m) => m[0]))];
  if (terms.length === 0) return [];
  const escaped = terms
    .sort((a, b) => b.length - a.length)
    .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('|'), 'giu');
  const ranges: Highlight[] = [];
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    const last = ranges.at(-1);
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else ranges.push({ start, end });
    if (ranges.length >= limit) break;
  }
  return ranges;
}
