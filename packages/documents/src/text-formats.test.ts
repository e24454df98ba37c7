import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { extractInlineText } from './extract-document.js';
import { extractInProcess } from './extract-in-process.js';
import { mediaTypes } from './extracted-document.js';
import { resolveExtractionLimits } from './extraction-limits.js';

const limits = resolveExtractionLimits();
const bytes = (text: string) => new TextEncoder().encode(text);

describe('HTML', () => {
  it('keeps the main content and its headings, dropping chrome, scripts and hidden parts', () => {
    const html = `<!doctype html><html><head><title>Handbook</title><style>p{color:red}</style></head><body>
      <header><a href="/">Home</a> Site banner</header>
      <nav><ul><li><a href="/a">A</a></li></ul></nav>
      <main>
        <header><h1>Travel policy</h1></header>
        <p>Book flights through the <a href="/tool">travel tool</a>.</p>
        <aside>Related: expenses</aside>
        <h2>Hotels</h2>
        <p>Up to 150 EUR per night.</p>
        <p hidden>Internal note</p>
        <div style="display: none">Invisible</div>
        <ul class="links"><li><a href="/1">One</a></li><li><a href="/2">Two</a></li><li><a href="/3">Three</a></li>
          <li><a href="/4">Four</a></li><li><a href="/5">Five</a></li></ul>
        <pre>line one
  line two</pre>
        <script>track()</script>
      </main>
      <footer>Copyright</footer></body></html>`;
    const doc = extractInlineText(html, { mediaType: 'text/html' });
    expect(doc.mediaType).toBe(mediaTypes.html);
    expect(doc.title).toBe('Handbook');
    expect(doc.text).toBe(
      'Travel policy\n\nBook flights through the travel tool.\n\nHotels\n\nUp to 150 EUR per night.\n\nline one\nline two',
    );
    expect(doc.sections.map((section) => section.headingPath)).toEqual([
      ['Travel policy'],
      ['Travel policy', 'Hotels'],
    ]);
  });

  it('keeps a page that sits inside one big <form>, dropping only the form controls', () => {
    const html =
      '<html><body><form action="/post"><h1>Notice</h1><p>The office is closed on Friday.</p>' +
      '<input name="q" value="search"><button>Go</button><select><option>One</option></select></form></body></html>';
    expect(extractInlineText(html, { mediaType: 'text/html' }).text).toBe(
      'Notice\n\nThe office is closed on Friday.',
    );
  });

  it('reads a fragment without <html> or <body>, and tables row by row', () => {
    const doc = extractInlineText(
      '<h3>Rates</h3><table><tr><th>Plan</th><th>Price</th></tr><tr><td>Basic</td><td>5</td></tr></table>',
      {
        mediaType: 'text/html; charset=utf-8',
      },
    );
    expect(doc.text).toBe('Rates\n\nPlan | Price\nBasic | 5');
  });
});

describe('Markdown', () => {
  it('turns headings into heading paths and strips the markup but not the words', () => {
    const markdown = [
      '---',
      'title: ignored front matter',
      '---',
      '# Guide',
      '',
      'Intro with **bold**, _emphasis_, `code` and a [link](https://example.com) and ![alt text](img.png).',
      '',
      '## Setup',
      '',
      '- first item',
      '- second item',
      '',
      '> quoted &amp; escaped',
      '',
      '```sh',
      'pnpm install',
      '```',
      '',
      '| Key | Value |',
      '| --- | ----- |',
      '| a   | 1     |',
      '',
      'Setext heading',
      '--------------',
      '',
      'Body <span>with inline html</span>.',
    ].join('\n');
    const doc = extractInlineText(markdown, { mediaType: 'text/markdown' });
    expect(doc.title).toBe('Guide');
    expect(doc.text).toBe(
      [
        'Guide',
        'Intro with bold, emphasis, code and a link and alt text.',
        'Setup',
        'first item',
        'second item',
        'quoted & escaped',
        'pnpm install',
        'Key | Value\na | 1',
        'Setext heading',
        'Body with inline html.',
      ].join('\n\n'),
    );
    expect(doc.sections.map((section) => section.headingPath)).toEqual([
      ['Guide'],
      ['Guide', 'Setup'],
      ['Guide', 'Setext heading'],
    ]);
  });
});

describe('CSV', () => {
  it('reads quoted fields with commas and newlines, one line per row', async () => {
    const csv = 'name,comment\n"Smith, Jane","said ""hi""\nand left"\nLee,ok\n';
    const doc = await extractInProcess(bytes(csv), { filename: 'people.csv' }, limits);
    expect(doc.mediaType).toBe(mediaTypes.csv);
    expect(doc.text).toBe('name | comment\nSmith, Jane | said "hi" and left\nLee | ok');
  });

  it('reads TSV and Shift_JIS CSV', async () => {
    const tsv = await extractInProcess(bytes('a\tb\n1\t2\n'), { filename: 'x.tsv' }, limits);
    expect(tsv.text).toBe('a | b\n1 | 2');
    const sjis = new Uint8Array(iconv.encode('氏名,部署\n山田,営業\n', 'Shift_JIS'));
    const doc = await extractInProcess(sjis, { mediaType: 'text/csv' }, limits);
    expect(doc.text).toBe('氏名 | 部署\n山田 | 営業');
  });

  it('fails a CSV with an unclosed quote with a reason', async () => {
    await expect(
      extractInProcess(bytes('a,b\n"never closed,1\n'), { filename: 'bad.csv' }, limits),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('the CSV cannot be parsed'),
    });
  });
});

describe('plain text', () => {
  it('keeps paragraphs and line breaks, normalizes line endings and spaces, and applies NFKC', async () => {
    const text = 'First line\r\nsecond   line\r\n\r\n\r\n\u3000Ｐａｒａｇｒａｐｈ　２\u200b\tend\n';
    const doc = await extractInProcess(bytes(text), { filename: 'notes.txt' }, limits);
    expect(doc.mediaType).toBe(mediaTypes.plain);
    expect(doc.text).toBe('First line\nsecond line\n\nParagraph 2 end');
    expect(doc.sections).toEqual([{ start: 0, end: doc.text.length, page: null, headingPath: [] }]);
  });
});
