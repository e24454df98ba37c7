/**
 * A chunk's context: its document's title and its heading path, as one line (`title › heading › subheading`)
 * that goes before the chunk's text wherever the chunk is embedded or lexically indexed, so a passage that
 * never names its subject is still found by it. The chunk's own `text`, offsets and highlights stay the
 * chunk's alone; only what the model and BM25 see carries the line.
 */

export const contextSeparator = ' › ';

/**
 * The line for a title (the one the document shows: the caller's, else the file's own) and a heading path,
 * outermost first. Whitespace runs become one space; a heading that repeats the part before it (a Markdown
 * H1 equal to the title) is left out; empty when there is neither title nor heading.
 */
export function contextLine(title: string | null | undefined, headingPath: readonly string[]): string {
  const parts: string[] = [];
  for (const part of [title ?? '', ...headingPath]) {
    const clean = part.replace(/\s+/g, ' ').trim();
    if (clean === '') continue;
    if (parts.length > 0 && comparable(parts.at(-1) as string) === comparable(clean)) continue;
    parts.push(clean);
  }
  return parts.join(contextSeparator);
}

/** What the model embeds and the analyzer indexes for a chunk: the context line, a line break, the text. */
export function contextualText(context: string, text: string): string {
  return context === '' ? text : `${context}\n${text}`;
}

/**
 * The most tokens a context line may take of a chunk's budget: a quarter, so a long title or a deep heading
 * path never crowds out the text it describes (a longer line is cut at a token boundary).
 */
export function contextTokenBudget(maxTokens: number): number {
  return Math.floor(maxTokens / 4);
}

/**
 * The context line cut to at most `maxTokens` tokens, at the end of the last token that fits. `tokens` are
 * the line's token offsets from the model's tokenizer.
 */
export function fitContext(context: string, tokens: readonly [number, number][], maxTokens: number): string {
  if (tokens.length <= maxTokens) return context;
  if (maxTokens <= 0) return '';
  const end = (tokens[maxTokens - 1] as [number, number])[1];
  return context.slice(0, end).trim();
}

function comparable(part: string): string {
  return part.normalize('NFKC').toLowerCase();
}

/** Each distinct line tokenized once and cut to `maxTokens` tokens; the answer follows `lines`' order. */
export async function fitContextLines(
  lines: readonly string[],
  tokenize: (texts: string[]) => Promise<{ offsets: [number, number][] }[]>,
  maxTokens: number,
): Promise<string[]> {
  const distinct = [...new Set(lines.filter((line) => line !== ''))];
  const tokenized = distinct.length > 0 ? await tokenize(distinct) : [];
  const fitted = new Map(
    distinct.map((line, index) => [line, fitContext(line, tokenized[index]?.offsets ?? [], maxTokens)]),
  );
  return lines.map((line) => fitted.get(line) ?? '');
}
