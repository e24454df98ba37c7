import { AppError } from '@rag/contracts/app-error';
import { type BreakLevel, breakLevel, findBreakPoints, isGraphemeBoundary } from './break-points.js';
import type { DocumentSection } from './extracted-document.js';

export interface Range {
  start: number;
  end: number;
}

export interface PlannedRange extends Range {
  /** Where the planner started this chunk before trimming whitespace; budgets are keyed by it. */
  planStart: number;
}

/** A section's budget: the tokens a chunk may have, and how many the next chunk takes again. */
export interface SectionBudget {
  maxTokens: number;
  overlapTokens: number;
}

/**
 * Plans the chunks of one section from the section's own tokenization (offsets made absolute): each cut at the
 * best break within the chunk's token budget, the overlap with the chunk before, and smaller budgets for chunks
 * that came out over budget when tokenized alone. chunker.ts drives it, section by section.
 */
export class SectionPlanner {
  private readonly sectionText: string;
  /** Token [start, end) in document offsets. */
  private readonly tokens: [number, number][];
  private readonly breaks: Map<number, BreakLevel>;
  /** Break positions in ascending order, for range lookups. */
  private readonly breakPositions: number[];
  /** Smaller budgets for chunks that start at a given position, learnt from chunks that came out too long. */
  private readonly budgets = new Map<number, number>();

  constructor(
    private readonly text: string,
    private readonly section: DocumentSection,
    offsets: [number, number][],
    private readonly options: SectionBudget,
  ) {
    this.sectionText = text.slice(section.start, section.end);
    this.tokens = offsets
      .filter(([start, end]) => end > start)
      .map(([start, end]) => [start + section.start, end + section.start]);
    this.breaks = new Map();
    for (const [position, level] of findBreakPoints(this.sectionText))
      this.breaks.set(position + section.start, level);
    this.breakPositions = [...this.breaks.keys()].sort((a, b) => a - b);
  }

  plan(): PlannedRange[] {
    const ranges: PlannedRange[] = [];
    let start = this.section.start;
    const end = this.section.end;
    while (start < end) {
      const first = this.firstTokenAtOrAfter(start);
      const budget = this.budgets.get(start) ?? this.options.maxTokens;
      const last = this.tokens.length - first <= budget;
      const cut = last ? end : this.chooseCut(start, first, budget);
      const range = trimRange(this.text, { start, end: cut });
      if (range.end > range.start) ranges.push({ ...range, planStart: start });
      if (last) break;
      start = Math.max(this.overlapStart(start, cut), start + 1);
    }
    return ranges;
  }

  /** The chunk had `excess` tokens too many when tokenized alone: plan it with that many fewer. */
  shrink(range: PlannedRange, excess: number): void {
    const current = this.budgets.get(range.planStart) ?? this.options.maxTokens;
    if (current === 1)
      throw new AppError(
        'validation_failed',
        `the text at offset ${range.start} has a single character that needs more than maxTokens=${this.options.maxTokens} tokens`,
        { retryable: false },
      );
    this.budgets.set(range.planStart, Math.max(1, current - Math.max(1, excess)));
  }

  /** The best cut after `start` that keeps at most `budget` tokens (counted in the section's tokenization). */
  private chooseCut(start: number, first: number, budget: number): number {
    const lastFitting = this.tokens[first + budget - 1] as [number, number];
    const nextToken = this.tokens[first + budget];
    // Anything up to the start of the first token that does not fit; whitespace before it belongs to no token.
    const limit = nextToken ? nextToken[0] : lastFitting[1];
    const halfway = Math.max(this.tokens[first + Math.floor(budget / 2)]?.[0] ?? start + 1, start + 1);
    for (const from of [halfway, start + 1]) {
      const cut = this.bestBreak(from, limit, 'latest');
      if (cut !== null) return cut;
    }
    // No break and no token start in reach (budget of one token longer than the text): take the whole token.
    return this.snapToGrapheme(Math.max(lastFitting[1], start + 1));
  }

  /** Where the next chunk starts: at most `overlapTokens` tokens before `cut`, at the best break there. */
  private overlapStart(start: number, cut: number): number {
    if (this.options.overlapTokens === 0) return cut;
    const next = this.firstTokenAtOrAfter(cut);
    const from =
      this.tokens[Math.max(next - this.options.overlapTokens, this.firstTokenAtOrAfter(start) + 1)]?.[0];
    if (from === undefined || from >= cut) return cut;
    return this.bestBreak(from, cut - 1, 'earliest') ?? cut;
  }

  /**
   * The break with the highest level in [from, to], the latest or the earliest of that level. Token starts count
   * as the lowest level, so there is an answer whenever a token starts in the range on a character boundary.
   */
  private bestBreak(from: number, to: number, prefer: 'latest' | 'earliest'): number | null {
    const candidates: { position: number; level: number }[] = [];
    for (let i = lowerBound(this.breakPositions, from); i < this.breakPositions.length; i++) {
      const position = this.breakPositions[i] as number;
      if (position > to) break;
      candidates.push({ position, level: this.breaks.get(position) ?? breakLevel.token });
    }
    for (let i = this.firstTokenAtOrAfter(from); i < this.tokens.length; i++) {
      const tokenStart = (this.tokens[i] as [number, number])[0];
      if (tokenStart > to) break;
      if (tokenStart >= from) candidates.push({ position: tokenStart, level: breakLevel.token });
    }
    const direction = prefer === 'latest' ? -1 : 1;
    candidates.sort((a, b) => b.level - a.level || direction * (a.position - b.position));
    // Checking character boundaries is the costly part, so only as far down the ranking as needed.
    return (
      candidates.find((candidate) => isGraphemeBoundary(this.text, candidate.position))?.position ?? null
    );
  }

  private firstTokenAtOrAfter(position: number): number {
    let low = 0;
    let high = this.tokens.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.tokens[middle] as [number, number])[1] <= position) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private snapToGrapheme(position: number): number {
    let snapped = Math.min(position, this.section.end);
    while (snapped < this.section.end && !isGraphemeBoundary(this.text, snapped)) snapped++;
    return snapped;
  }
}

/** Index of the first element >= value in an ascending array. */
function lowerBound(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function trimRange(text: string, range: Range): Range {
  let { start, end } = range;
  while (start < end && /\s/.test(text[start] ?? '')) start++;
  while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
  return { start, end };
}
