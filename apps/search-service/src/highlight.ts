import { analyze } from '@rag/lexical/analyzer';

/**
 * Character ranges in `text` where a term of the query occurs, found by the same analyzer that BM25 indexes
 * and queries with (`@rag/lexical/analyzer`): so a highlight is always a term the query matched, lower-cased
 * and NFKC-normalised words, CJK character bigrams, and never a stop word (nor a lone kanji inside a longer run,
which BM25 matches but which would light up every shared character). Overlapping and touching ranges
 * are merged (bigrams overlap: 梅雨 and 雨の make one range 梅雨の).
 */
export interface Highlight {
  start: number;
  end: number;
}

export function highlightTerms(text: string, query: string, limit = 32): Highlight[] {
  const wanted = new Set(analyze(query).map((t) => t.term));
  if (wanted.size === 0) return [];
  const ranges: Highlight[] = [];
  for (const { term, start, end, inner } of analyze(text)) {
    if (inner || !wanted.has(term)) continue;
    const last = ranges.at(-1);
    if (last && start <= last.end) last.end = Math.max(last.end, end);
    else {
      if (ranges.length >= limit) break;
      ranges.push({ start, end });
    }
  }
  return ranges;
}
