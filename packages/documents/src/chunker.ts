import { AppError } from '@rag/contracts/app-error';
import { contextLine, contextTokenBudget, contextualText, fitContextLines } from './chunk-context.js';
import type { DocumentSection, ExtractedDocument } from './extracted-document.js';
import { type PlannedRange, type Range, SectionPlanner, trimRange } from './section-planner.js';

/**
 * The embedding model's tokenizer: token ids without special tokens, and each token's [start, end) in UTF-16 code
 * units of its input text.
 */
export type TokenizeFn = (texts: string[]) => Promise<{ ids: number[]; offsets: [number, number][] }[]>;

export interface ChunkOptions {
  /** Most tokens a chunk may have (without special tokens): the model's input length less its specials and prefix. */
  maxTokens: number;
  /** Tokens at the end of a chunk that the next chunk of the same section starts with again. */
  overlapTokens: number;
  /**
   * The title the document shows (the caller's, else the file's own): with each section's heading path it makes
   * the context line embedded and indexed with every chunk (chunk-context.ts), inside `maxTokens`.
   */
  title?: string | null;
}

export interface DocumentChunk {
  /** 0-based position in the document. */
  ordinal: number;
  /** Equal to `doc.text.slice(start, end)`. */
  text: string;
  start: number;
  end: number;
  page: number | null;
  headingPath: string[];
  /** The context line (title › headings, cut to its share of the budget); empty when there is none. */
  context: string;
  /**
   * `tokenize([contextualText(context, text)])[0].ids`: what the embedding service will see, at most `maxTokens`
   * tokens.
   */
  tokenIds: number[];
}

/** Re-planning rounds before giving up; each round only shrinks budgets, so a handful always suffices. */
const maxRounds = 32;

/**
 * Cuts a document into chunks of at most `maxTokens` tokens of the model's own tokenizer. A chunk never crosses a
 * section (so headings and pages split first and every chunk has one page and one heading path); inside a section
 * the cut goes at the best place in the last half of the token budget: a paragraph end, else a line end, a sentence
 * end (。！？ and Latin . ! ? with care for abbreviations and numbers), a clause, a word, and only as a last resort
 * between two tokens, never inside a character. The next chunk starts up to `overlapTokens` tokens earlier, at the
 * best such place.
 *
 * Budgets are planned on each section tokenized as a whole, where a token's count can differ slightly from the
 * chunk tokenized alone (the tokenizer marks the first word of an input). So every chunk is then tokenized alone,
 * which gives its `tokenIds`, and a chunk that came out over budget is planned again with a smaller budget.
 * The result is deterministic for a given tokenizer.
 *
 * Every chunk is counted together with its context line (`options.title` and the section's heading path, cut
 * to a quarter of the budget), since that line is embedded with it: the line's tokens come off the budget.
 */
export async function chunkDocument(
  doc: ExtractedDocument,
  tokenize: TokenizeFn,
  options: ChunkOptions,
): Promise<DocumentChunk[]> {
  validateOptions(options);
  const tokenizeChecked = rememberedTokenize(checkedTokenize(tokenize));
  const sections = doc.sections.filter((section) => doc.text.slice(section.start, section.end).trim() !== '');
  // Sections and context lines are tokenized at once (a batching tokenizer sends them as one request), and a
  // line that needed no cut is not tokenized again.
  const lines = sections.map((section) => contextLine(options.title, section.headingPath));
  const [sectionTokens, contexts] = await Promise.all([
    tokenizeChecked(sections.map((section) => doc.text.slice(section.start, section.end))),
    fitContextLines(lines, tokenizeChecked, contextTokenBudget(options.maxTokens)),
    tokenizeChecked(likelyWholeChunks(doc.text, sections, lines, options.maxTokens)),
  ]);
  const contextTokens = await tokenizeChecked(contexts.filter((context) => context !== ''));
  let next = 0;
  const contextCounts = contexts.map((context) =>
    context === '' ? 0 : (contextTokens[next++]?.ids.length ?? 0),
  );
  const planners = sections.map((section, index) => {
    // The line and the text are tokenized together in the end; planning on their sum is only the first guess.
    const maxTokens = options.maxTokens - (contextCounts[index] ?? 0);
    const overlapTokens = Math.min(options.overlapTokens, maxTokens - 1);
    return new SectionPlanner(doc.text, section, sectionTokens[index]?.offsets ?? [], {
      maxTokens,
      overlapTokens,
    });
  });

  // Ids of each chunk's contextual text tokenized alone, by "start:end"; a section that is one chunk and has
  // no context line is already known.
  const idsByRange = new Map<string, number[]>();
  sections.forEach((section, index) => {
    const trimmed = trimRange(doc.text, section);
    if (trimmed.start === section.start && trimmed.end === section.end && contexts[index] === '')
      idsByRange.set(rangeKey(section), sectionTokens[index]?.ids ?? []);
  });

  for (let round = 0; round < maxRounds; round++) {
    const plans = planners.map((planner) => planner.plan());
    const contextByRange = new Map(
      plans.flatMap((ranges, index) =>
        ranges.map((range) => [rangeKey(range), contexts[index] ?? ''] as const),
      ),
    );
    const unknown = [
      ...new Map(
        plans
          .flat()
          .filter((range) => !idsByRange.has(rangeKey(range)))
          .map((range) => [rangeKey(range), range]),
      ).values(),
    ];
    if (unknown.length > 0) {
      const tokenized = await tokenizeChecked(
        unknown.map((range) =>
          contextualText(contextByRange.get(rangeKey(range)) ?? '', doc.text.slice(range.start, range.end)),
        ),
      );
      for (const [index, range] of unknown.entries())
        idsByRange.set(rangeKey(range), tokenized[index]?.ids ?? []);
    }
    let overBudget = false;
    plans.forEach((ranges, index) => {
      // Every chunk over budget gets a smaller budget at once; chunks after it may move, and are checked again.
      for (const range of ranges) {
        const count = idsByRange.get(rangeKey(range))?.length ?? 0;
        if (count <= options.maxTokens) continue;
        planners[index]?.shrink(range, count - options.maxTokens);
        overBudget = true;
      }
    });
    if (!overBudget) return toChunks(doc.text, sections, contexts, plans, idsByRange);
  }
  throw new AppError('internal', `chunking did not converge within ${maxRounds} rounds`, {
    retryable: false,
  });
}

/**
 * A token rarely covers more than this many characters, so a section with its context line longer than this many
 * characters per token of the budget is almost surely cut into several chunks.
 */
const maxCharsPerToken = 4;

/**
 * The contextual texts of the sections that may well be one chunk each (the whole section, trimmed, behind its
 * line as it is before any cut): asked with the sections, they are known when the plan asks for them, which
 * saves a second request to the embedding service for most short documents. A guess that turns out wrong (the
 * section needs several chunks, or its line a cut) costs one more text in the first request, nothing else.
 */
function likelyWholeChunks(
  text: string,
  sections: readonly DocumentSection[],
  lines: readonly string[],
  maxTokens: number,
): string[] {
  return sections.flatMap((section, index) => {
    const range = trimRange(text, section);
    const line = lines[index] ?? '';
    if (range.end - range.start + line.length > maxTokens * maxCharsPerToken) return [];
    return [contextualText(line, text.slice(range.start, range.end))];
  });
}

/** The tokenizer is another service's answer: a wrong shape must fail loudly, not make chunks without ids. */
function checkedTokenize(tokenize: TokenizeFn): TokenizeFn {
  return async (texts) => {
    if (texts.length === 0) return [];
    const results = await tokenize(texts);
    if (results.length !== texts.length)
      throw new AppError(
        'internal',
        `the tokenizer answered ${results.length} results for ${texts.length} texts`,
      );
    for (const result of results)
      if (result.offsets.length !== result.ids.length)
        throw new AppError(
          'internal',
          `the tokenizer answered ${result.ids.length} ids with ${result.offsets.length} offsets`,
        );
    return results;
  };
}

/**
 * Each distinct text is tokenized once per document: the tokenizer is a request to the embedding service, whose
 * CPU is the model's. Texts asked again (a context line that needed no cut) come from the earlier answer.
 */
function rememberedTokenize(tokenize: TokenizeFn): TokenizeFn {
  const known = new Map<string, Promise<{ ids: number[]; offsets: [number, number][] }>>();
  return (texts) => {
    const missing = [...new Set(texts.filter((text) => !known.has(text)))];
    if (missing.length > 0) {
      const answer = tokenize(missing);
      missing.forEach((text, index) => {
        const result = answer.then((results) => results[index]!);
        // A failed call is not remembered; the rejection reaches the caller through the returned promise.
        result.catch(() => known.delete(text));
        known.set(text, result);
      });
    }
    return Promise.all(texts.map((text) => known.get(text)!));
  };
}

function toChunks(
  text: string,
  sections: DocumentSection[],
  contexts: string[],
  plans: PlannedRange[][],
  idsByRange: Map<string, number[]>,
): DocumentChunk[] {
  const chunks: DocumentChunk[] = [];
  plans.forEach((ranges, index) => {
    const section = sections[index] as DocumentSection;
    for (const range of ranges)
      chunks.push({
        ordinal: chunks.length,
        text: text.slice(range.start, range.end),
        start: range.start,
        end: range.end,
        page: section.page,
        headingPath: [...section.headingPath],
        context: contexts[index] ?? '',
        tokenIds: idsByRange.get(rangeKey(range)) ?? [],
      });
  });
  return chunks;
}

function rangeKey(range: Range): string {
  return `${range.start}:${range.end}`;
}

function validateOptions(options: ChunkOptions): void {
  const { maxTokens, overlapTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new AppError('validation_failed', `maxTokens must be a positive integer, got ${maxTokens}`, {
      retryable: false,
    });
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens)
    throw new AppError(
      'validation_failed',
      `overlapTokens must be an integer from 0 to maxTokens - 1, got ${overlapTokens}`,
      {
        retryable: false,
      },
    );
}
