/**
 * A result's text cut into plain and highlighted runs. Highlight offsets count UTF-16 code units, as
 * JavaScript strings do, so slicing keeps Japanese text and surrogate pairs whole. Overlapping or
 * out-of-range highlights are clamped and merged rather than trusted.
 */
export interface Segment {
  text: string;
  highlighted: boolean;
}

export function highlightSegments(
  text: string,
  highlights: readonly { start: number; end: number }[],
): Segment[] {
  const spans = highlights
    .map((h) => ({
      start: Math.max(0, Math.min(h.start, text.length)),
      end: Math.max(0, Math.min(h.end, text.length)),
    }))
    .filter((h) => h.end > h.start)
    .sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  const segments: Segment[] = [];
  let at = 0;
  for (const span of merged) {
    if (span.start > at) segments.push({ text: text.slice(at, span.start), highlighted: false });
    segments.push({ text: text.slice(span.start, span.end), highlighted: true });
    at = span.end;
  }
  if (at < text.length) segments.push({ text: text.slice(at), highlighted: false });
  return segments;
}
