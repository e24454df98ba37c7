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
  return highlighter(query, limit)(text);
}

/**
 * The highlighting of one query, for the texts of a page: the query is analyzed once. A text of ASCII alone
 * (most English text) is scanned for its words directly: there the analyzer's terms are exactly the runs of
 * ASCII letters and digits, lower-cased, at their own offsets (NFKC changes no ASCII character, and no
 * ASCII character is CJK or a combining mark), and a stop word is never among the query's terms. That scan
 * costs a fraction of the analyzer's per-character normalisation, which was the largest part of a search's
 * CPU time in the service after the Milvus client (bench:search, 10 hits of ~100 words).
 */
export function highlighter(query: string, limit = 32): (text: string) => Highlight[] {
  const wanted = new Set(analyze(query).map((t) => t.term));
  if (wanted.size === 0) return () => [];
  return (text) => matchedRanges(asciiOnly.test(text) ? asciiWords(text) : analyze(text), wanted, limit);
}

interface TextTerm {
  term: string;
  start: number;
  end: number;
  inner?: boolean;
}

/** The ranges of the wanted terms among a text's terms, overlapping and touching ones merged, at most `limit`. */
export function matchedRanges(
  terms: Iterable<TextTerm>,
  wanted: ReadonlySet<string>,
  limit: number,
): Highlight[] {
  const ranges: Highlight[] = [];
  for (const { term, start, end, inner } of terms) {
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

const asciiOnly = /^\p{ASCII}*$/u;
const asciiWord = /[A-Za-z0-9]+/g;

/** The analyzer's terms of an ASCII text, stop words included (the query's terms never hold one). */
function* asciiWords(text: string): Generator<TextTerm> {
  for (const match of text.matchAll(asciiWord)) {
    yield { term: match[0].toLowerCase(), start: match.index, end: match.index + match[0].length };
  }
}
