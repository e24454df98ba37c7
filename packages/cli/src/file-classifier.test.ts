import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPptx, buildXlsx, buildZip } from '@rag/documents/document-fixtures.test-support';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyFile } from './file-classifier.js';

const sharedDocs = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data', 'docs');
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rag-classify-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  await writeFile(join(root, name), content);
  return join(root, name);
}

describe('classifyFile', () => {
  it('sends the formats the server reads, told by content whatever the name says', async () => {
    const pdf = join(root, 'paper.bin');
    await copyFile(join(sharedDocs, 'pdf', 'en_markitdown_test.pdf'), pdf);
    const docx = join(root, 'tables');
    await copyFile(join(sharedDocs, 'docx', 'en_docling_word_tables.docx'), docx);
    expect(await classifyFile(pdf)).toMatchObject({ kind: 'send', format: 'pdf' });
    expect(await classifyFile(docx)).toMatchObject({ kind: 'send', format: 'docx' });
    const xlsx = await file('budget.xlsx', buildXlsx([{ name: 'Q1', rows: [['item', 'cost']] }]));
    expect(await classifyFile(xlsx)).toMatchObject({ kind: 'send', format: 'xlsx' });
    const pptx = await file('deck.pptx', buildPptx([{ title: 'Plan', body: ['Ship it'] }]));
    expect(await classifyFile(pptx)).toMatchObject({ kind: 'send', format: 'pptx' });
  });

  it('sends text in the encodings the server decodes', async () => {
    const csv = await file('prices.csv', iconv.encode('品名,価格\nりんご,120\nみかん,80\n', 'Shift_JIS'));
    expect(await classifyFile(csv)).toMatchObject({ kind: 'send', format: 'csv (shift_jis)' });
    const html = await file('page.txt', '<!doctype html><title>T</title><p>Hello</p>');
    expect(await classifyFile(html)).toMatchObject({ kind: 'send', format: 'html (utf-8)' });
    const markdown = await file('notes.md', '# Notes\n\nSome notes.');
    expect(await classifyFile(markdown)).toMatchObject({ kind: 'send', format: 'markdown (utf-8)' });
  });

  it('reads a long UTF-8 text by its head even where the head splits a character', async () => {
    // Three-byte characters only: a head of 64 KiB (65,536 bytes) ends one byte into a character.
    const text = '日本語のテキスト。'.repeat(3000);
    for (const name of ['long.txt', 'long.pdf'])
      expect(await classifyFile(await file(name, text))).toMatchObject({
        kind: 'send',
        format: 'plain (utf-8)',
      });
  });

  it("skips what the server refuses, with the server's reason", async () => {
    const png = await file('logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]));
    expect(await classifyFile(png)).toMatchObject({ kind: 'skip', reason: expect.stringContaining('PNG') });
    const zip = await file('archive.zip', buildZip({ 'a.txt': 'a' }));
    expect(await classifyFile(zip)).toMatchObject({ kind: 'skip', reason: expect.stringContaining('ZIP') });
    // Bytes of a compiled program or a compressed stream: every value, in no text's proportions.
    const binary = await file(
      'blob.dat',
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)),
    );
    expect(await classifyFile(binary)).toMatchObject({
      kind: 'skip',
      reason: expect.stringContaining('binary'),
    });
    // Named as a PDF, holding neither a PDF nor text: the server refuses it, so it is not sent.
    const broken = await file('broken.pdf', Buffer.from([0, 1, 2, ...Buffer.from('garbage')]));
    expect(await classifyFile(broken)).toMatchObject({
      kind: 'skip',
      reason: expect.stringContaining('"broken.pdf" is labelled PDF but is not a PDF'),
    });
    expect(await classifyFile(await file('empty.txt', ''))).toMatchObject({
      kind: 'skip',
      reason: 'empty file',
    });
    expect(await classifyFile(await file('blank.txt', ' \n\t\n'))).toMatchObject({
      kind: 'skip',
      reason: 'no text',
    });
  });
});
