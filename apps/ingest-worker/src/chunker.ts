/**
 * Splits text into chunks of at most `maxChars` characters along paragraph and sentence boundaries
 * (Latin . ! ? and Japanese 。！？), keeping each chunk's character offsets in the original text for
 * highlights and citations. A sentence longer than the budget is cut between code points, never inside one.
 */
export interface TextChunk {
  ordinal: number;
  text: string;
  start: number;
  end: number;
}

export interface ChunkOptions {
  maxChars: number;
}

interface Span {
  start: number;
  end: number;
}

/** Where a sentence ends: Japanese full stops anywhere, Latin ones only before a space, or a line break. */
const sentenceEnd = /[。！？]+|[.!?]+(?=\s|$)|\n+/gu;
const indexable = /[\p{L}\p{N}]/u;

export function chunkText(text: string, options: ChunkOptions): TextChunk[] {
  if (options.maxChars < 16) throw new Error('maxChars must be at least 16');
  const chunks: TextChunk[] = [];
  let current: Span | undefined;
  const emit = () => {
    if (!current) return;
    const trimmed = trimSpan(text, current);
    const slice = text.slice(trimmed.start, trimmed.end);
    if (indexable.test(slice)) chunks.push({ ordinal: chunks.length, text: slice, ...trimmed });
    current = undefined;
  };

  for (const paragraph of paragraphs(text)) {
    emit();
    for (const sentence of sentences(text, paragraph)) {
      for (const piece of hardSplit(text, sentence, options.maxChars)) {
        if (current && piece.end - current.start > options.maxChars) emit();
        current = current ? { start: current.start, end: piece.end } : piece;
      }
    }
  }
  emit();
  return chunks;
}

function paragraphs(text: string): Span[] {
  const spans: Span[] = [];
  const breaks = /\n[ \t\r\f\v]*\n\s*/g;
  let start = 0;
  for (const match of text.matchAll(breaks)) {
    spans.push({ start, end: match.index });
    start = match.index + match[0].length;
  }
  spans.push({ start, end: text.length });
  return spans.filter((s) => s.end > s.start);
}

function sentences(text: string, paragraph: Span): Span[] {
  const body = text.slice(paragraph.start, paragraph.end);
  const spans: Span[] = [];
  let start = 0;
  for (const match of body.matchAll(sentenceEnd)) {
    const end = match.index + match[0].length;
    spans.push({ start: paragraph.start + start, end: paragraph.start + end });
    start = end;
  }
  if (start < body.length) spans.push({ start: paragraph.start + start, end: paragraph.end });
  return spans;
}

function hardSplit(text: string, span: Span, maxChars: number): Span[] {
  const pieces: Span[] = [];
  let start = span.start;
  while (span.end - start > maxChars) {
    let end = start + maxChars;
    // Never cut a surrogate pair in two.
    if (isLowSurrogate(text.charCodeAt(end))) end -= 1;
    pieces.push({ start, end });
    start = end;
  }
  pieces.push({ start, end: span.end });
  return pieces;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function trimSpan(text: string, span: Span): Span {
  let { start, end } = span;
  while (start < end && /\s/u.test(text[start]!)) start += 1;
  while (end > start && /\s/u.test(text[end - 1]!)) end -= 1;
  return { start, end };
}
