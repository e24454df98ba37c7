import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFolder } from '@rag/models/model-manifest';
import { writeTinyModel } from '@rag/models/tiny-model';
import { Tokenizer } from 'tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelTokenizer } from './model-tokenizer.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));

const texts = [
  '',
  'short text',
  'the river flows past the old mill '.repeat(200),
  '東京の会議室は午後三時から予約されています。'.repeat(120),
  `${'emoji 🙂 and 𝔘 outside the BMP, '.repeat(150)}end`,
  `${'word '.repeat(507)}`,
  `${'word '.repeat(508)}`,
  `${'word '.repeat(509)}`,
];

describe('model tokenizer: truncation done on whole tokenisation', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rag-model-tokenizer-'));
    await writeTinyModel(join(root, 'tiny'), { seed: 3 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const folders = () => [
    { dir: join(root, 'tiny') },
    {
      dir: join(sharedDir, 'models', 'multilingual-e5-small-q4'),
      manifestPath: join(repoRoot, 'packages/models/manifests/multilingual-e5-small.json'),
    },
  ];

  it('cuts texts exactly as the tokenizer’s own truncation does, keeping the end token', async () => {
    for (const { dir, manifestPath } of folders()) {
      const folder = await loadModelFolder(dir, { manifestPath });
      const tokenizer = await loadModelTokenizer(folder.tokenizerPath, folder.manifest);
      const reference = Tokenizer.fromFile(folder.tokenizerPath);
      reference.setTruncation(folder.manifest.maxLength);
      reference.disablePadding();
      for (const kind of ['passage', 'query'] as const) {
        const prefix = folder.manifest.prefixes[kind];
        const expected = await reference.encodeBatch(texts.map((text) => prefix + text));
        const encoded = await tokenizer.encode(texts, kind);
        encoded.forEach((text, i) => {
          expect(text.ids, `${dir} ${kind} text ${i}`).toEqual(expected[i]!.getIds());
          expect(text.truncated, `${dir} ${kind} text ${i}`).toBe(expected[i]!.getOverflowing().length > 0);
        });
      }
      for (const addSpecialTokens of [true, false]) {
        const expected = await reference.encodeBatch(texts, { addSpecialTokens });
        const tokenized = await tokenizer.tokenize(texts, {
          addSpecialTokens,
          offsets: true,
          truncate: true,
        });
        const whole = await tokenizer.tokenize(texts, { addSpecialTokens, offsets: false, truncate: false });
        expect(whole.some((text) => text.ids.length > folder.manifest.maxLength)).toBe(true);
        expect(whole.every((text) => !text.truncated)).toBe(true);
        tokenized.forEach((text, i) => {
          expect(text.ids).toEqual(expected[i]!.getIds());
          expect(text.offsets).toHaveLength(text.ids.length);
          // The binding reports no overflow without special tokens even when it cut; the service says it cut.
          expect(text.truncated).toBe(whole[i]!.ids.length > folder.manifest.maxLength);
        });
      }
    }
  });
});
