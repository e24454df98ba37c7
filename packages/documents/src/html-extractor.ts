import type { AnyNode, Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';

/**
 * Never text: code, styling, embedded media and widgets. <form> is not here: some sites (ASP.NET WebForms) wrap
 * the whole page in one; its controls are.
 */
const droppedTags = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'canvas',
  'iframe',
  'object',
  'embed',
  'video',
  'audio',
  'head',
  'nav',
  'aside',
  'button',
  'select',
  'input',
  'textarea',
  'dialog',
  'menu',
]);
/** Page chrome when outside the main content; inside <main>/<article> a <header> holds the title and is kept. */
const chromeTags = new Set(['header', 'footer']);
const droppedRoles = new Set([
  'navigation',
  'contentinfo',
  'complementary',
  'search',
  'menu',
  'menubar',
  'toolbar',
  'dialog',
]);
/** Class names that common sites and wikis put on chrome inside the main content (edit links, nav boxes, skip links). */
const droppedClass =
  /(?:^|\s)(?:noprint|navbox|vertical-navbox|mw-editsection|mw-jump-link|catlinks|printfooter|toc|sr-only|visually-hidden|skip-link|breadcrumbs?|cookie-banner)(?:\s|$)/;
const blockTags = new Set([
  'p',
  'div',
  'section',
  'article',
  'main',
  'header',
  'footer',
  'li',
  'ul',
  'ol',
  'dl',
  'dt',
  'dd',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'blockquote',
  'figure',
  'figcaption',
  'caption',
  'address',
  'details',
  'summary',
  'hr',
  'body',
  'center',
]);
const cellTags = new Set(['td', 'th']);
/** Containers that are dropped when they are nothing but links (menus, language lists, nav boxes). */
const linkListTags = new Set(['ul', 'ol', 'div', 'table', 'section', 'p']);

export interface HtmlExtractionOptions {
  maxTextChars: number;
  /** Media type to report (DOCX goes through HTML too). */
  mediaType?: string;
  /** Keep every element, for HTML that this system generated itself (no chrome to remove). */
  keepAll?: boolean;
}

/**
 * The main text of an HTML page: the first <main> (or role=main, else the only <article>, else <body>), without
 * navigation, page headers and footers, asides, scripts and styles. h1-h6 become the heading path; block elements
 * become paragraphs; table cells are joined with " | " row by row.
 */
export function extractHtml(html: string, options: HtmlExtractionOptions): ExtractedDocument {
  const document = parseDocument(html, { decodeEntities: true });
  const builder = new DocumentTextBuilder(options.maxTextChars);
  const root = options.keepAll ? document : (findMainContent(document.children) ?? document);
  const walker = new HtmlWalker(builder, options.keepAll ?? false);
  walker.walk(root.type === 'root' ? root.children : [root as Element], isInsideMain(root));
  walker.flush();
  const title = textOf(findFirst(document.children, (el) => el.name === 'title')) || walker.firstH1;
  return builder.build({
    mediaType: options.mediaType ?? mediaTypes.html,
    title: title || null,
    pageCount: null,
  });
}

class HtmlWalker {
  private buffer = '';
  private preformatted = false;
  private previousWasRow = false;
  firstH1 = '';

  constructor(
    private readonly builder: DocumentTextBuilder,
    private readonly keepAll: boolean,
  ) {}

  walk(nodes: AnyNode[], insideMain: boolean): void {
    for (const node of nodes) {
      if (node.type === 'text') {
        this.buffer += node.data;
        continue;
      }
      if (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style') continue;
      const element = node as Element;
      const name = element.name.toLowerCase();
      if (!this.keepAll && this.isDropped(element, name, insideMain)) continue;
      const heading = /^h([1-6])$/.exec(name);
      if (heading) {
        this.flush();
        const text = textOf(element);
        if (name === 'h1' && !this.firstH1) this.firstH1 = text;
        this.builder.heading(Number(heading[1]), text);
        this.previousWasRow = false;
        continue;
      }
      if (name === 'br') {
        this.buffer += '\n';
        continue;
      }
      if (name === 'pre') {
        this.flush();
        this.preformatted = true;
        this.walk(element.children, insideMain);
        this.flush();
        this.preformatted = false;
        continue;
      }
      if (name === 'tr') {
        // One line per row, cells joined: a cell's paragraphs (Word puts every cell in a <p>) stay in their cell.
        this.flush();
        const cells = element.children
          .filter((cell): cell is Element => cell.type === 'tag' && cellTags.has((cell as Element).name))
          .map((cell) => textOf(cell))
          .filter((cell) => cell !== '');
        if (cells.length > 0) {
          if (this.previousWasRow) this.builder.line(cells.join(' | '));
          else this.builder.paragraph(cells.join(' | '));
          this.previousWasRow = true;
        }
        continue;
      }
      const isBlock = blockTags.has(name);
      if (isBlock) this.flush();
      this.walk(element.children, insideMain || name === 'main' || name === 'article');
      if (isBlock) this.flush();
      else if (name === 'img' && element.attribs.alt) this.buffer += ` ${element.attribs.alt} `;
    }
  }

  flush(): void {
    if (this.buffer.trim() !== '') {
      this.builder.paragraph(this.buffer, { keepLines: this.preformatted });
      this.previousWasRow = false;
    }
    this.buffer = '';
  }

  private isDropped(element: Element, name: string, insideMain: boolean): boolean {
    if (droppedTags.has(name)) return true;
    if (chromeTags.has(name) && !insideMain) return true;
    const attribs = element.attribs;
    const role = attribs.role?.toLowerCase();
    if (role && (droppedRoles.has(role) || (role === 'banner' && !insideMain))) return true;
    if ('hidden' in attribs || attribs['aria-hidden'] === 'true') return true;
    if (attribs.style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(attribs.style)) return true;
    if (attribs.class && droppedClass.test(attribs.class)) return true;
    return linkListTags.has(name) && isLinkList(element);
  }
}

function findMainContent(nodes: AnyNode[]): Element | null {
  const main = findFirst(nodes, (el) => el.name === 'main' || el.attribs.role === 'main');
  if (main) return main;
  const articles = findAll(nodes, (el) => el.name === 'article');
  if (articles.length === 1) return articles[0] ?? null;
  return findFirst(nodes, (el) => el.name === 'body');
}

function isInsideMain(node: AnyNode): boolean {
  if (node.type !== 'tag') return false;
  const element = node as Element;
  return element.name === 'main' || element.name === 'article' || element.attribs.role === 'main';
}

function findFirst(nodes: AnyNode[], test: (element: Element) => boolean): Element | null {
  for (const node of nodes) {
    if (node.type !== 'tag') continue;
    const element = node as Element;
    if (test(element)) return element;
    const found = findFirst(element.children, test);
    if (found) return found;
  }
  return null;
}

function findAll(nodes: AnyNode[], test: (element: Element) => boolean, into: Element[] = []): Element[] {
  for (const node of nodes) {
    if (node.type !== 'tag') continue;
    const element = node as Element;
    if (test(element)) into.push(element);
    findAll(element.children, test, into);
  }
  return into;
}

/**
 * A block of at least five links whose text is nearly all link text: a menu, a language list, a nav box. Article
 * text has links too, but its words are mostly outside them.
 */
function isLinkList(element: Element): boolean {
  let links = 0;
  let linkText = 0;
  const count = (nodes: AnyNode[]): void => {
    for (const node of nodes) {
      if (node.type !== 'tag') continue;
      const child = node as Element;
      if (child.name === 'a') {
        links++;
        linkText += textOf(child).length;
      } else count(child.children);
    }
  };
  count(element.children);
  if (links < 5) return false;
  const total = textOf(element).length;
  return total > 0 && linkText / total >= 0.8;
}

/** Visible text of an element, skipping scripts, styles and hidden edit links (e.g. in headings). */
function textOf(element: Element | null): string {
  if (!element) return '';
  let text = '';
  for (const child of element.children) {
    if (child.type === 'text') text += child.data;
    else if (child.type === 'tag') {
      const el = child as Element;
      if (droppedTags.has(el.name) || (el.attribs.class && droppedClass.test(el.attribs.class))) continue;
      text += textOf(el);
    }
  }
  return text.replace(/\s+/g, ' ').trim();
}
