import { AppError } from '@rag/contracts/app-error';
import type { DocumentSection, ExtractedDocument } from './extracted-document.js';
import { limitExceeded } from './extraction-limits.js';

export interface BlockOptions {
  /** 1-based page the block is on; null for formats without pages. */
  page?: number | null;
  /** Keep the block's line breaks (plain text, code, table rows); otherwise all whitespace runs become one space. */
  keepLines?: boolean;
}

interface OpenSection extends DocumentSection {
  /** Whether anything but the heading that opened it was added; a bare heading is merged into its first subheading. */
  hasBody: boolean;
}

const blockSeparator = '\n\n';

/**
 * Assembles a document's text block by block. Each block is NFKC-normalized and cleaned on its own before it is
 * appended, so the offsets recorded for sections are offsets into the final text: nothing rewrites the text after
 * an offset was taken. Headings open sections; the heading stack gives each section its heading path.
 */
export class DocumentTextBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly sections: OpenSection[] = [];
  private headingStack: { level: number; text: string }[] = [];

  constructor(private readonly maxTextChars: number) {}

  /** A heading of the given level (1 = outermost); its text becomes part of the document and opens a section. */
  heading(level: number, rawText: string, options: BlockOptions = {}): void {
    const text = cleanBlock(rawText, false);
    if (text === '') return;
    this.headingStack = this.headingStack.filter((entry) => entry.level < level);
    this.headingStack.push({ level, text });
    const headingPath = this.headingStack.map((entry) => entry.text);
    const page = options.page ?? null;
    const current = this.sections.at(-1);
    const start = this.append(text, blockSeparator);
    if (current && !current.hasBody && current.page === page && isPrefix(current.headingPath, headingPath)) {
      // "# Part" directly followed by "## Chapter": one section under the deeper path, not a section with only a title.
      current.headingPath = headingPath;
      current.end = this.length;
      return;
    }
    this.sections.push({ start, end: this.length, page, headingPath, hasBody: false });
  }

  /** A block of body text (paragraph, list item, table row, page text). */
  paragraph(rawText: string, options: BlockOptions = {}): void {
    this.addBody(rawText, options, blockSeparator);
  }

  /** A block that continues the previous one on a new line (the next row of a table, the next line of a slide). */
  line(rawText: string, options: BlockOptions = {}): void {
    this.addBody(rawText, options, '\n');
  }

  /** Forgets the heading stack, e.g. at a new sheet or slide whose headings do not nest under the previous one's. */
  resetHeadings(): void {
    this.headingStack = [];
  }

  get textLength(): number {
    return this.length;
  }

  build(meta: { mediaType: string; title: string | null; pageCount: number | null }): ExtractedDocument {
    const text = this.parts.join('');
    if (text.trim() === '')
      throw new AppError('validation_failed', `the ${meta.mediaType} document has no extractable text`, {
        retryable: false,
        context: { mediaType: meta.mediaType },
      });
    const title = meta.title === null ? null : cleanBlock(meta.title, false) || null;
    return {
      mediaType: meta.mediaType,
      text,
      title,
      pageCount: meta.pageCount,
      sections: this.sections.map(({ start, end, page, headingPath }) => ({ start, end, page, headingPath })),
    };
  }

  private addBody(rawText: string, options: BlockOptions, separator: string): void {
    const text = cleanBlock(rawText, options.keepLines ?? false);
    if (text === '') return;
    const page = options.page ?? null;
    const headingPath = this.headingStack.map((entry) => entry.text);
    const current = this.sections.at(-1);
    const start = this.append(text, separator);
    if (current && current.page === page && sameHeadingPath(current.headingPath, headingPath)) {
      current.end = this.length;
      current.hasBody = true;
      return;
    }
    this.sections.push({ start, end: this.length, page, headingPath, hasBody: true });
  }

  /** Appends the text after a separator (none at the very start) and returns where the text begins. */
  private append(text: string, separator: string): number {
    const sep = this.length === 0 ? '' : separator;
    const next = this.length + sep.length + text.length;
    if (next > this.maxTextChars) throw limitExceeded('maxTextChars', this.maxTextChars, next);
    if (sep !== '') this.parts.push(sep);
    this.parts.push(text);
    const start = this.length + sep.length;
    this.length = next;
    return start;
  }
}

/**
 * NFKC, then whitespace: full-width spaces and other Unicode spaces become plain spaces (NFKC does most), control
 * characters go, runs of spaces collapse, and lines are trimmed. Without `keepLines`, line breaks are spaces too.
 */
export function cleanBlock(raw: string, keepLines: boolean): string {
  const normalized = raw
    .normalize('NFKC')
    .replace(/\r\n?/g, '\n')
    // Control characters carry no text; tab, form feed and vertical tab separate words like a space.
    .replace(/\p{Cc}/gu, (char) => (char === '\n' ? char : /[\t\f\v]/.test(char) ? ' ' : ''))
    .replace(/[\u200b\ufeff]/g, '')
    .replace(/[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g, ' ');
  if (!keepLines) return normalized.replace(/\s+/g, ' ').trim();
  return normalized
    .split('\n')
    .map((line) => line.replace(/ +/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function isPrefix(prefix: string[], path: string[]): boolean {
  return prefix.length < path.length && prefix.every((entry, index) => path[index] === entry);
}

function sameHeadingPath(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((entry, index) => b[index] === entry);
}
