import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TextKind } from '@rag/contracts/embedding-api';
import { loadModelFolder } from '@rag/models/model-manifest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder, type Embedder } from './embedder.js';
import { loadModelTokenizer } from './model-tokenizer.js';

// The shared folder sits beside the repository unless SHARED_DIR says otherwise. No skipping: a missing model
// must fail the run, or the one check against a real model would silently stop running.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
const modelDir = join(sharedDir, 'models', 'multilingual-e5-small-q4');
const manifestPath = fileURLToPath(
  new URL('../../../../packages/models/manifests/multilingual-e5-small.json', import.meta.url),
);

interface ReferenceLine {
  id: string;
  prefix: string;
  text: string;
  input: string;
  input_ids: number[];
  embedding: number[];
}

function readReference(): ReferenceLine[] {
  const path = join(modelDir, 'reference.jsonl');
  if (!existsSync(path)) {
    throw new Error(`Reference model not found at ${path}; set SHARED_DIR to the folder holding models/`);
  }
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as ReferenceLine);
}

const kindOf = (prefix: string): TextKind => {
  if (prefix === 'query: ') return 'query';
  if (prefix === 'passage: ') return 'passage';
  throw new Error(`Unexpected reference prefix ${JSON.stringify(prefix)}`);
};

const cosine = (a: readonly number[], b: readonly number[]) => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, i) => {
    ab += x * b[i]!;
    aa += x * x;
    bb += b[i]! * b[i]!;
  });
  return ab / Math.sqrt(aa * bb);
};

describe('multilingual-e5-small against its reference outputs', () => {
  const reference = readReference();
  let embedder: Embedder;

  beforeAll(async () => {
    embedder = await createEmbedder({ modelDir, manifestPath, threads: 2 });
  });
  afterAll(async () => {
    await embedder?.close();
  });

  it('has reference lines for both kinds of text', () => {
    expect(reference).toHaveLength(20);
    expect(new Set(reference.map((line) => kindOf(line.prefix)))).toEqual(new Set(['query', 'passage']));
  });

  it('tokenises every reference text, with the prefix of its kind, to exactly the reference ids', async () => {
    const { manifest, tokenizerPath } = await loadModelFolder(modelDir, { manifestPath });
    const tokenizer = await loadModelTokenizer(tokenizerPath, manifest);
    for (const line of reference) {
      expect(line.input, line.id).toBe(line.prefix + line.text);
      const [encoded] = await tokenizer.encode([line.text], kindOf(line.prefix));
      expect(encoded!.ids, line.id).toEqual(line.input_ids);
      // The reference's long text (en-10) was cut to maxLength as well.
      expect(encoded!.truncated, line.id).toBe(line.input_ids.length === manifest.maxLength);
    }
  });

  it('drops only CLS, EOS, PAD and UNK from sparse weights, as FlagEmbedding does, not <mask>', async () => {
    const { manifest, tokenizerPath } = await loadModelFolder(modelDir, { manifestPath });
    const tokenizer = await loadModelTokenizer(tokenizerPath, manifest);
    // XLM-R: <s> 0, <pad> 1, </s> 2, <unk> 3; <mask> 250001 is special but keeps its weight.
    expect([...tokenizer.specialIds].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(tokenizer.padId).toBe(1);
  });

  it('gives UTF-16 offsets that slice Japanese, emoji and characters outside the BMP out of the text', async () => {
    const { manifest, tokenizerPath } = await loadModelFolder(modelDir, { manifestPath });
    const tokenizer = await loadModelTokenizer(tokenizerPath, manifest);
    const texts = ['日本語のテキストです', 'I like 🍣 and 🍜 in 東京', 'math 𝔘𝔫𝔦 and émigré'];
    const tokenized = await tokenizer.tokenize(texts, {
      addSpecialTokens: true,
      offsets: true,
      truncate: false,
    });
    const pieces = tokenized.map(({ offsets }, i) =>
      offsets!.slice(1, -1).map(([start, end]) => texts[i]!.slice(start, end).trim()),
    );
    expect(pieces[0]).toEqual(['日', '日本語', 'の', 'テキスト', 'です']);
    // Every emoji comes out whole, as two UTF-16 units, never as half a surrogate pair.
    expect(pieces[1]).toContain('🍣');
    expect(pieces[1]).toContain('🍜');
    expect(pieces[1]).toContain('東京');
    expect(pieces[2]!.join('')).toBe('math𝔘𝔫𝔦andémigré');
    const halfPair = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(pieces.flat().filter((piece) => halfPair.test(piece))).toEqual([]);
  });

  it('reproduces every reference embedding, applying the prefix of the requested kind', async () => {
    const embeddings = await Promise.all(
      reference.map((line) => embedder.embed([line.text], { kind: kindOf(line.prefix), outputs: ['dense'] })),
    );
    reference.forEach((line, i) => {
      const [embedding] = embeddings[i]!;
      expect(embedding!.tokens, line.id).toBe(line.input_ids.length);
      expect(cosine(embedding!.dense!, line.embedding), line.id).toBeGreaterThanOrEqual(0.9999);
    });
  });

  it('reproduces the reference when the texts of one kind come in a single padded batch', async () => {
    for (const kind of ['query', 'passage'] as const) {
      const lines = reference.filter((line) => kindOf(line.prefix) === kind);
      const embeddings = await embedder.embed(
        lines.map((line) => line.text),
        { kind, outputs: ['dense'] },
      );
      lines.forEach((line, i) => {
        expect(cosine(embeddings[i]!.dense!, line.embedding), line.id).toBeGreaterThanOrEqual(0.9999);
      });
    }
  });

  it('has only a dense output, and says so when asked for sparse', async () => {
    expect(embedder.info).toEqual({
      name: 'multilingual-e5-small-q4',
      dim: 384,
      maxLength: 512,
      outputs: { dense: true, sparse: false, colbert: false },
      family: 'encoder',
      prefixes: { query: 'query: ', passage: 'passage: ' },
      provider: 'cpu',
      // The manifest's sha256, which collections record.
      manifestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await expect(embedder.embed(['x'], { kind: 'query', outputs: ['sparse'] })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/no sparse output .*dense only, being a sentence encoder/),
    });
  });
});
