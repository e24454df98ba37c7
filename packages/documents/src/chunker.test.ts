import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isGraphemeBoundary } from './break-points.js';
import { contextLine, contextualText } from './chunk-context.js';
import { type ChunkOptions, chunkDocument, type DocumentChunk } from './chunker.js';
import { buildPdf } from './document-fixtures.test-support.js';
import { docsDir, evalDir, loadE5TokenizeFn } from './e5-tokenizer.test-support.js';
import { extractInlineText } from './extract-document.js';
import { extractInProcess } from './extract-in-process.js';
import type { ExtractedDocument } from './extracted-document.js';
import { resolveExtractionLimits } from './extraction-limits.js';

// The real multilingual-e5 tokenizer throughout: chunk budgets are only meaningful in the model's own tokens.
const tokenize = loadE5TokenizeFn();
const limits = resolveExtractionLimits();

async function sharedDocument(file: string): Promise<ExtractedDocument> {
  return extractInProcess(new Uint8Array(readFileSync(join(docsDir, file))), { filename: file }, limits);
}

/** Passages of an eval corpus grouped into one plain-text document per title. */
function corpusDocuments(corpus: string, titles: number): ExtractedDocument[] {
  const byTitle = new Map<string, string[]>();
  for (const line of readFileSync(join(evalDir, corpus, 'corpus.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { title, text } = JSON.parse(line) as { title: string; text: string };
    if (!byTitle.has(title)) {
      if (byTitle.size === titles) break;
      byTitle.set(title, []);
    }
    byTitle.get(title)?.push(text);
  }
  return [...byTitle.values()].map((passages) =>
    extractInlineText(passages.join('\n\n'), { mediaType: 'text/plain' }),
  );
}

/**
 * Everything a chunking must satisfy: text is the slice of the document; ids are the tokenization of the chunk with
 * its context line (title › headings, or a cut of it) and within budget; cuts on character boundaries; one section per chunk with its page and heading path; every
 * non-space character of every section in some chunk; overlap within its budget.
 */
async function expectValidChunks(doc: ExtractedDocument, chunks: DocumentChunk[], options: ChunkOptions) {
  expect(chunks.length).toBeGreaterThan(0);
  const own = await tokenize(chunks.map((chunk) => contextualText(chunk.context, chunk.text)));
  chunks.forEach((chunk, index) => {
    expect(chunk.ordinal).toBe(index);
    expect(chunk.text).toBe(doc.text.slice(chunk.start, chunk.end));
    expect(chunk.text.trim()).toBe(chunk.text);
    expect(chunk.tokenIds).toEqual(own[index]?.ids);
    expect(chunk.tokenIds.length).toBeLessThanOrEqual(options.maxTokens);
    expect(isGraphemeBoundary(doc.text, chunk.start)).toBe(true);
    expect(isGraphemeBoundary(doc.text, chunk.end)).toBe(true);
    const section = doc.sections.find(
      (candidate) => candidate.start <= chunk.start && chunk.end <= candidate.end,
    );
    expect(section).toBeDefined();
    expect(chunk.page).toBe(section?.page);
    expect(chunk.headingPath).toEqual(section?.headingPath);
    expect(contextLine(options.title, chunk.headingPath).startsWith(chunk.context)).toBe(true);
  });

  const sectionTokens = await tokenize(
    doc.sections.map((section) => doc.text.slice(section.start, section.end)),
  );
  doc.sections.forEach((section, sectionIndex) => {
    const inSection = chunks.filter((chunk) => section.start <= chunk.start && chunk.end <= section.end);
    const covered = new Uint8Array(section.end - section.start);
    for (const chunk of inSection) covered.fill(1, chunk.start - section.start, chunk.end - section.start);
    const missed = [...doc.text.slice(section.start, section.end)].filter(
      (char, offset) => covered[offset] === 0 && !/\s/.test(char),
    );
    expect(missed).toEqual([]);

    const tokens = (sectionTokens[sectionIndex]?.offsets ?? []).map(([start, end]) => [
      start + section.start,
      end + section.start,
    ]);
    for (let i = 1; i < inSection.length; i++) {
      const previous = inSection[i - 1] as DocumentChunk;
      const next = inSection[i] as DocumentChunk;
      expect(next.start).toBeGreaterThan(previous.start);
      expect(next.start).toBeLessThanOrEqual(previous.end + 2);
      const shared = tokens.filter(
        ([start, end]) => (start as number) >= next.start && (end as number) <= previous.end,
      );
      expect(shared.length).toBeLessThanOrEqual(options.overlapTokens);
    }
  });
}

describe('chunkDocument with the multilingual-e5 tokenizer', { timeout: 60_000 }, () => {
  it('chunks the Japanese constitution by article, within budget, with overlap', async () => {
    const doc = await sharedDocument('md/ja_nihonkoku-kenpo.md');
    const options = { maxTokens: 64, overlapTokens: 8 };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    // Article 9's second paragraph is a heading of its own in this file ("#### ○2").
    const article9 = chunks.filter((chunk) => chunk.headingPath.includes('第九条'));
    expect(article9.length).toBeGreaterThan(2);
    expect(article9[0]?.headingPath).toEqual(['昭和二十一年憲法', '第二章 戦争の放棄', '第九条']);
    expect(article9.at(-1)?.headingPath).toEqual(['昭和二十一年憲法', '第二章 戦争の放棄', '第九条', '○2']);
    expect(article9.some((chunk) => chunk.text.includes('国の交戦権は、これを認めない。'))).toBe(true);
  });

  it('embeds every chunk with its title and heading path, within the same budget', async () => {
    const doc = await sharedDocument('md/ja_nihonkoku-kenpo.md');
    const options = { maxTokens: 128, overlapTokens: 8, title: '日本国憲法' };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    const article9 = chunks.find((chunk) => chunk.headingPath.includes('第九条'));
    expect(article9?.context).toBe('日本国憲法 › 昭和二十一年憲法 › 第二章 戦争の放棄 › 第九条');
    // The line's tokens come off the text's budget: more chunks than without a title.
    const untitled = await chunkDocument(doc, tokenize, { maxTokens: 128, overlapTokens: 8 });
    expect(chunks.length).toBeGreaterThan(untitled.length);
  });

  it('cuts a context line longer than a quarter of the budget at a token boundary', async () => {
    const doc = extractInlineText('The wing was tested in the tunnel at three speeds.');
    const title = Array.from({ length: 40 }, (_, n) => `word${n}`).join(' ');
    const options = { maxTokens: 32, overlapTokens: 0, title };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    expect(chunks.map((chunk) => chunk.text)).toEqual([doc.text]);
    expect(chunks[0]?.context.startsWith('word0 word1')).toBe(true);
    expect((await tokenize([chunks[0]?.context ?? '']))[0]?.ids.length).toBeLessThanOrEqual(8);
  });

  it('cuts Japanese text at 。 when every sentence fits in half the budget', async () => {
    const sentence = (n: number) => `第${n}回の会議では、予算と人員の配置について議論した。`;
    const doc = extractInlineText(Array.from({ length: 30 }, (_, n) => sentence(n + 1)).join(''));
    const options = { maxTokens: 48, overlapTokens: 0 };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(chunk.text.endsWith('。')).toBe(true);
    // No overlap asked: the chunks tile the text.
    expect(chunks.map((chunk) => chunk.text).join('')).toBe(doc.text);
  });

  it('cuts English text at sentence ends, not after abbreviations or inside decimals', async () => {
    const sentences = [
      'Dr. Smith measured the beam at 3.14 meters before noon.',
      'The load test, run by Prof. Jones, passed on the first try.',
      'Results were logged to the shared drive, e.g. the weekly folder.',
      'Everyone agreed the design was ready for review.',
    ];
    const doc = extractInlineText(Array.from({ length: 6 }, () => sentences.join(' ')).join(' '));
    const options = { maxTokens: 60, overlapTokens: 0 };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.text).toMatch(/(noon|try|folder|review)\.$/);
      expect(chunk.text).toMatch(/^(Dr\.|The|Results|Everyone)/);
    }
  });

  it('overlaps consecutive chunks of a section by up to overlapTokens, starting after a space or punctuation', async () => {
    const doc = await sharedDocument('md/en_docling_wiki.md');
    const options = { maxTokens: 96, overlapTokens: 24 };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    let pairs = 0;
    for (let i = 1; i < chunks.length; i++) {
      const [previous, next] = [chunks[i - 1] as DocumentChunk, chunks[i] as DocumentChunk];
      if (previous.headingPath.join('/') !== next.headingPath.join('/')) {
        // A new section starts fresh: no overlap across headings.
        expect(next.start).toBeGreaterThan(previous.end);
        continue;
      }
      pairs++;
      expect(next.start).toBeLessThan(previous.end);
      expect(doc.text[next.start - 1]).toMatch(/[\s\p{P}]/u);
    }
    expect(pairs).toBeGreaterThan(5);
  });

  it('chunks real Japanese passages (JSQuAD) and English abstracts (Cranfield)', async () => {
    const options = { maxTokens: 128, overlapTokens: 16 };
    for (const doc of [...corpusDocuments('jsquad-valid', 12), ...corpusDocuments('cranfield', 12)]) {
      const chunks = await chunkDocument(doc, tokenize, options);
      await expectValidChunks(doc, chunks, options);
    }
  });

  it('falls back to token cuts in text without breaks, never inside a character', async () => {
    const run = '👨‍👩‍👧‍👦é𠮷ｶﾞ漢字かなカナ'.normalize('NFC').repeat(40);
    const doc = extractInlineText(`${run}\n\nthe end`);
    const options = { maxTokens: 12, overlapTokens: 3 };
    const chunks = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, chunks, options);
    expect(chunks.length).toBeGreaterThan(20);
  });

  it('keeps pages: a chunk never spans two PDF pages', async () => {
    const doc = await extractInProcess(
      buildPdf([['Alpha page one text.'], ['Beta page two text.'], ['Gamma page three text.']]),
      {},
      limits,
    );
    const chunks = await chunkDocument(doc, tokenize, { maxTokens: 32, overlapTokens: 4 });
    expect(chunks.map((chunk) => [chunk.page, chunk.text])).toEqual([
      [1, 'Alpha page one text.'],
      [2, 'Beta page two text.'],
      [3, 'Gamma page three text.'],
    ]);
  });

  it('is deterministic', async () => {
    const doc = await sharedDocument('html/en_wikipedia_duck.html');
    const options = { maxTokens: 100, overlapTokens: 20 };
    const first = await chunkDocument(doc, tokenize, options);
    await expectValidChunks(doc, first, options);
    expect(await chunkDocument(doc, tokenize, options)).toEqual(first);
  });

  it('tokenizes each distinct text of a document once (the tokenizer is a request to the embedding service)', async () => {
    const doc = await sharedDocument('md/ja_nihonkoku-kenpo.md');
    const options = { maxTokens: 128, overlapTokens: 8, title: '日本国憲法' };
    const asked: string[] = [];
    const counting: typeof tokenize = async (texts) => {
      asked.push(...texts);
      return tokenize(texts);
    };
    const chunks = await chunkDocument(doc, counting, options);
    await expectValidChunks(doc, chunks, options);
    expect(asked.length).toBeGreaterThan(chunks.length);
    expect(new Set(asked).size).toBe(asked.length);
    // The context lines were asked once: with the sections, not again before planning.
    expect(asked.filter((text) => text === chunks[0]?.context)).toHaveLength(1);
  });

  it('asks for a short document in one round: its sections behind their context lines come with the sections', async () => {
    const doc = extractInlineText(
      '# Setup\n\nInstall the agent.\n\n# Upgrade\n\nStop it, then install the new one.',
      {
        mediaType: 'text/markdown',
      },
    );
    const options = { maxTokens: 64, overlapTokens: 8, title: 'Agent guide' };
    // A round is a set of calls made before any of them was answered (what a batching tokenizer sends as one
    // request to the embedding service).
    let answered = 0;
    const rounds: number[] = [];
    const asked: string[] = [];
    const counting: typeof tokenize = async (texts) => {
      rounds.push(answered);
      asked.push(...texts);
      const result = await tokenize(texts);
      answered++;
      return result;
    };
    const chunks = await chunkDocument(doc, counting, options);
    await expectValidChunks(doc, chunks, options);
    expect(chunks.map((chunk) => contextualText(chunk.context, chunk.text))).toEqual([
      'Agent guide › Setup\nSetup\n\nInstall the agent.',
      'Agent guide › Upgrade\nUpgrade\n\nStop it, then install the new one.',
    ]);
    expect(new Set(rounds)).toEqual(new Set([0]));
    expect(new Set(asked).size).toBe(asked.length);
    // The same chunks as a tokenizer answering one text per call gives.
    const oneByOne: typeof tokenize = async (texts) =>
      (await Promise.all(texts.map((t) => tokenize([t])))).flat();
    expect(await chunkDocument(doc, oneByOne, options)).toEqual(chunks);
  });

  it('fails loudly when the tokenizer answers fewer results than texts', async () => {
    const doc = extractInlineText('# A\n\nFirst.\n\n# B\n\nSecond.', { mediaType: 'text/markdown' });
    const dropsOne: typeof tokenize = async (texts) => (await tokenize(texts)).slice(1);
    await expect(chunkDocument(doc, dropsOne, { maxTokens: 16, overlapTokens: 0 })).rejects.toThrow(
      'the tokenizer answered 1 results for 2 texts',
    );
  });

  it('rejects budgets that cannot work', async () => {
    const doc = extractInlineText('Some text.');
    await expect(chunkDocument(doc, tokenize, { maxTokens: 0, overlapTokens: 0 })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(chunkDocument(doc, tokenize, { maxTokens: 10, overlapTokens: 10 })).rejects.toThrow(
      'overlapTokens must be an integer from 0 to maxTokens - 1',
    );
  });
});
