import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentExtractor } from './document-extractor.js';
import { docsDir } from './e5-tokenizer.test-support.js';
import { extractDocument } from './extract-document.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';

interface Expectation {
  mediaType: string;
  /** Phrases that must appear in the text, exactly (after NFKC). */
  phrases: string[];
  /** Text that belongs to page chrome or markup and must not appear. */
  absent?: string[];
  pageCount: number | null;
  title?: string | null;
  /** Heading paths that some section must have. */
  headingPaths?: string[][];
}

// One entry per file in SOURCES.tsv; a file added there without an entry here fails the first test.
const expectations: Record<string, Expectation> = {
  'pdf/en_markitdown_test.pdf': {
    mediaType: mediaTypes.pdf,
    phrases: [
      'Large language models (LLMs) are becoming a crucial building block in developing powerful agents',
      'how can we facilitate the development of LLM applications',
    ],
    pageCount: 1,
  },
  'pdf/en_arxiv_2305.03393v1-pg9.pdf': {
    mediaType: mediaTypes.pdf,
    phrases: ['We have chosen the PubTabNet data set to perform HPO', '5.1 Hyper Parameter Optimization'],
    pageCount: 1,
  },
  'docx/en_markitdown_test.docx': {
    mediaType: mediaTypes.docx,
    phrases: ['AutoGen is an open-source framework that allows developers to build LLM applications'],
    pageCount: null,
    title: 'AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation',
    // Word's Title style and Heading 1 are both outermost headings.
    headingPaths: [['Abstract'], ['Introduction']],
  },
  'docx/en_docling_word_tables.docx': {
    mediaType: mediaTypes.docx,
    // Table rows stay rows: the cells of one row on one line.
    phrases: [
      'Header 0.0 | Header 0.1 | Header 0.2\nCell 1.0 | Cell 1.1 | Cell 1.2',
      'Cell 1.0 | Merged Cell 1.1 1.2',
    ],
    pageCount: null,
    headingPaths: [['Test with tables']],
  },
  'docx/en_docling_lorem_ipsum.docx': {
    mediaType: mediaTypes.docx,
    phrases: ['Lorem ipsum dolor sit amet, consectetur adipiscing elit.'],
    pageCount: null,
  },
  'html/en_wikipedia_duck.html': {
    mediaType: mediaTypes.html,
    phrases: ['Duck is the common name for numerous species of waterfowl in the family Anatidae.'],
    // The interlanguage menu, the site navigation and scripts are not the article.
    absent: ['Afrikaans', 'Main page', 'Contact us', 'RLCONF', 'function('],
    pageCount: null,
    title: 'Duck - Wikipedia',
    headingPaths: [
      ['Duck', 'Etymology'],
      ['Duck', 'Taxonomy'],
    ],
  },
  'md/ja_nihonkoku-kenpo.md': {
    mediaType: mediaTypes.markdown,
    phrases: [
      '天皇は、日本国の象徴であり日本国民統合の象徴であつて',
      '日本国民は、正義と秩序を基調とする国際平和を誠実に希求し',
    ],
    absent: ['#'],
    pageCount: null,
    title: '昭和二十一年憲法',
    headingPaths: [
      ['昭和二十一年憲法', '日本国憲法'],
      ['昭和二十一年憲法', '第一章 天皇', '第一条'],
      ['昭和二十一年憲法', '第二章 戦争の放棄', '第九条'],
    ],
  },
  'md/en_docling_wiki.md': {
    mediaType: mediaTypes.markdown,
    phrases: ['International Business Machines Corporation (using the trademark IBM), nicknamed Big Blue'],
    absent: ['# IBM'],
    pageCount: null,
    title: 'IBM',
    headingPaths: [['IBM', '1910s–1950s']],
  },
};

function listedFiles(): string[] {
  const lines = readFileSync(join(docsDir, 'SOURCES.tsv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => line.split('\t')[0] ?? '');
}

/** Properties every extracted document has, whatever the format. */
function expectWellFormed(doc: ExtractedDocument): void {
  expect(doc.text.normalize('NFKC')).toBe(doc.text);
  let previousEnd = 0;
  for (const section of doc.sections) {
    expect(section.start).toBeGreaterThanOrEqual(previousEnd);
    expect(section.end).toBeGreaterThan(section.start);
    expect(section.end).toBeLessThanOrEqual(doc.text.length);
    const sectionText = doc.text.slice(section.start, section.end);
    expect(sectionText.trim()).toBe(sectionText);
    previousEnd = section.end;
  }
  // Sections cover all the text but the blank separators between blocks.
  expect(doc.text.replace(/\s/g, '').length).toBe(
    doc.sections.map((section) => doc.text.slice(section.start, section.end).replace(/\s/g, '')).join('')
      .length,
  );
}

// Threads are started from TypeScript source under vitest, which takes seconds on a busy machine.
describe('the shared sample documents', { timeout: 120_000 }, () => {
  const extractor = createDocumentExtractor({ threads: 2 });
  afterAll(() => extractor.close());

  it('has an expectation for every file in SOURCES.tsv', () => {
    expect(listedFiles().sort()).toEqual(Object.keys(expectations).sort());
  });

  for (const [file, expected] of Object.entries(expectations)) {
    it(`extracts ${file}`, async () => {
      const bytes = new Uint8Array(readFileSync(join(docsDir, file)));
      const doc = await extractor.extract(bytes, { filename: file.split('/').pop() as string });
      expect(doc.mediaType).toBe(expected.mediaType);
      expect(doc.pageCount).toBe(expected.pageCount);
      for (const phrase of expected.phrases) expect(doc.text).toContain(phrase);
      for (const phrase of expected.absent ?? []) expect(doc.text).not.toContain(phrase);
      if (expected.title !== undefined) expect(doc.title).toBe(expected.title);
      const paths = doc.sections.map((section) => section.headingPath);
      for (const path of expected.headingPaths ?? []) expect(paths).toContainEqual(path);
      if (expected.pageCount !== null)
        for (const section of doc.sections) expect(section.page).toBeGreaterThanOrEqual(1);
      expectWellFormed(doc);
    });
  }

  it('extracts through a thread of its own with extractDocument', async () => {
    const bytes = new Uint8Array(readFileSync(join(docsDir, 'md/ja_nihonkoku-kenpo.md')));
    const doc = await extractDocument(bytes, { filename: 'ja_nihonkoku-kenpo.md' });
    const article9 = doc.sections.find((section) => section.headingPath.at(-1) === '第九条');
    expect(article9).toBeDefined();
    const text = doc.text.slice(article9?.start, article9?.end);
    // The chapter heading has no text of its own, so it opens the section of its first article.
    expect(text).toMatch(/^第二章 戦争の放棄\n\n第九条\n\n日本国民は、/);
    expect(text).toContain('国権の発動たる戦争と、武力による威嚇又は武力の行使は');
  });
});
