import { Lexer, type Token, type Tokens } from 'marked';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';

/**
 * Markdown through marked's lexer (the parse, not the HTML rendering): headings become the heading path, the
 * markup goes and its text stays (link text, image alt text, code), list items and table rows become blocks.
 */
export function extractMarkdown(markdown: string, options: { maxTextChars: number }): ExtractedDocument {
  const builder = new DocumentTextBuilder(options.maxTextChars);
  const tokens = new Lexer({ gfm: true }).lex(stripFrontMatter(markdown));
  // The first level-1 heading, else the first heading of any level.
  let title: string | null = null;
  let firstHeading: string | null = null;
  const addBlocks = (blockTokens: Token[]): void => {
    for (const token of blockTokens) {
      switch (token.type) {
        case 'heading': {
          const heading = token as Tokens.Heading;
          const text = inlineText(heading.tokens);
          if (heading.depth === 1 && title === null) title = text;
          firstHeading ??= text;
          builder.heading(heading.depth, text);
          break;
        }
        case 'code':
          builder.paragraph((token as Tokens.Code).text, { keepLines: true });
          break;
        case 'list':
          for (const item of (token as Tokens.List).items) addBlocks(item.tokens);
          break;
        case 'blockquote':
          addBlocks((token as Tokens.Blockquote).tokens);
          break;
        case 'table': {
          const table = token as Tokens.Table;
          builder.paragraph(table.header.map((cell) => inlineText(cell.tokens)).join(' | '));
          for (const row of table.rows) builder.line(row.map((cell) => inlineText(cell.tokens)).join(' | '));
          break;
        }
        case 'html':
          builder.paragraph(stripTags((token as Tokens.HTML).text));
          break;
        case 'space':
        case 'hr':
        case 'def':
          break;
        default:
          // paragraph, text and any extension token: their inline children, else their text.
          builder.paragraph(inlineText('tokens' in token && token.tokens ? token.tokens : [token]));
      }
    }
  };
  addBlocks(tokens);
  return builder.build({ mediaType: mediaTypes.markdown, title: title ?? firstHeading, pageCount: null });
}

function inlineText(tokens: Token[]): string {
  let text = '';
  for (const token of tokens) {
    // Inline tags such as <span> sit inside words; only a line break separates.
    if (token.type === 'html') text += /^<br\b/i.test(token.raw) ? '\n' : stripTags(token.raw, '');
    else if (token.type === 'br') text += '\n';
    else if (token.type === 'image') text += (token as Tokens.Image).text;
    else if ('tokens' in token && token.tokens && token.tokens.length > 0) text += inlineText(token.tokens);
    else if ('text' in token && typeof token.text === 'string') text += decodeEntities(token.text);
  }
  return text;
}

function stripTags(html: string, tagReplacement = ' '): string {
  return decodeEntities(html.replace(/<!--[\s\S]*?-->/g, tagReplacement).replace(/<[^>]*>/g, tagReplacement));
}

const namedEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The lexer leaves entity references as written; the text should hold the characters. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code =
        name[1]?.toLowerCase() === 'x' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return namedEntities[name.toLowerCase()] ?? whole;
  });
}

/** YAML front matter is metadata, not text. */
function stripFrontMatter(markdown: string): string {
  const match = /^---\r?\n[\s\S]*?\r?\n---\r?\n/.exec(markdown);
  return match ? markdown.slice(match[0].length) : markdown;
}
