import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedding, SparseVector } from '@rag/contracts/embedding-api';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSoloQuietMs } from './batch-scheduler.js';
import { createEmbedder, type Embedder } from './embedder.js';

const specialIds = [0, 1, 2, 3];
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const norm = (a: readonly number[]) => Math.sqrt(dot(a, a));
function sparseDot(a: SparseVector, b: SparseVector): number {
  const weights = new Map(b.indices.map((id, i) => [id, b.values[i]!]));
  return a.indices.reduce((sum, id, i) => sum + a.values[i]! * (weights.get(id) ?? 0), 0);
}

describe('embedder with the generated tiny model', () => {
  let root: string;
  let embedder: Embedder;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rag-embedder-'));
    await writeTinyModel(join(root, 'tiny'), { seed: 3 });
    // Two single-threaded pool workers and a solo worker with both cores, as on a 2-core machine.
    embedder = await createEmbedder({
      modelDir: join(root, 'tiny'),
      cores: 2,
      poolSize: 2,
      threads: 1,
      maxBatchTokens: 256,
    });
  });
  afterAll(async () => {
    await embedder?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('generates the same model files byte for byte every time', async () => {
    await writeTinyModel(join(root, 'again'), { seed: 3 });
    for (const file of ['model.onnx', 'tokenizer.json', 'rag-model.json']) {
      const [first, second] = await Promise.all([
        readFile(join(root, 'tiny', file)),
        readFile(join(root, 'again', file)),
      ]);
      expect(first.equals(second), file).toBe(true);
    }
  });

  it('describes the model', () => {
    expect(embedder.info).toEqual({
      name: 'tiny-bge-m3-d32-s3',
      dim: 32,
      maxLength: 512,
      outputs: { dense: true, sparse: true, colbert: true },
      family: 'bge-m3',
      prefixes: { query: '', passage: '' },
      provider: 'cpu',
      // The manifest's sha256, which collections record.
      manifestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('returns every requested output with the right shape', async () => {
    const [embedding] = await embedder.embed(['Hello world, this is a test'], {
      kind: 'passage',
      outputs: ['dense', 'sparse', 'colbert'],
    });
    const { dense, sparse, colbert, tokens } = embedding!;
    expect(dense).toHaveLength(32);
    expect(norm(dense!)).toBeCloseTo(1, 6);

    expect(sparse!.indices.length).toBeGreaterThan(0);
    expect(sparse!.indices).toHaveLength(sparse!.values.length);
    expect(sparse!.indices).toEqual([...sparse!.indices].sort((a, b) => a - b));
    expect(sparse!.indices.filter((id) => specialIds.includes(id))).toEqual([]);
    expect(sparse!.values.every((value) => value > 0)).toBe(true);

    // One vector per token except the start token.
    expect(colbert).toHaveLength(tokens - 1);
    for (const vector of colbert!) {
      expect(vector).toHaveLength(32);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('returns only the requested outputs, one per text, in order', async () => {
    const texts = ['first text', 'a much longer second text with many more words in it', 'third'];
    const together = await embedder.embed(texts, { kind: 'query', outputs: ['sparse'] });
    expect(together.map((embedding) => Object.keys(embedding).sort())).toEqual([
      ['sparse', 'tokens'],
      ['sparse', 'tokens'],
      ['sparse', 'tokens'],
    ]);
    const alone = await Promise.all(
      texts.map(async (text) => (await embedder.embed([text], { kind: 'query', outputs: ['sparse'] }))[0]),
    );
    expect(together).toEqual(alone);
  });

  it('embeds the empty string as the start and end tokens', async () => {
    const [embedding] = await embedder.embed([''], {
      kind: 'passage',
      outputs: ['dense', 'sparse', 'colbert'],
    });
    expect(embedding!.tokens).toBe(2);
    expect(embedding!.sparse).toEqual({ indices: [], values: [] });
    expect(embedding!.colbert).toHaveLength(1);
    expect(norm(embedding!.dense!)).toBeCloseTo(1, 6);
  });

  it('truncates to maxLength and keeps the end token', async () => {
    const [embedding] = await embedder.embed(['word '.repeat(2000)], {
      kind: 'passage',
      outputs: ['colbert'],
    });
    expect(embedding!.tokens).toBe(512);
    expect(embedding!.colbert).toHaveLength(511);
  });

  it('scores a query higher against the document it shares words with', async () => {
    const outputs = ['dense', 'sparse'] as const;
    const [docA, docB] = await embedder.embed(
      [
        'The river flows past the old water mill and into the green valley below the mountain.',
        'Quarterly revenue grew thanks to cloud services and a strong product launch.',
      ],
      { kind: 'passage', outputs: [...outputs] },
    );
    const [query] = await embedder.embed(['old water mill by the river'], {
      kind: 'query',
      outputs: [...outputs],
    });
    expect(dot(query!.dense!, docA!.dense!)).toBeGreaterThan(dot(query!.dense!, docB!.dense!));
    expect(sparseDot(query!.sparse!, docA!.sparse!)).toBeGreaterThan(
      sparseDot(query!.sparse!, docB!.sparse!),
    );
  });

  it('answers many concurrent callers with their own results, whatever the batching', async () => {
    const texts = Array.from(
      { length: 40 },
      (_, i) => `document number ${i} ${'about rivers '.repeat(i % 7)}`,
    );
    // Earlier tests sent several texts at once: one text at a time goes to the solo worker after a quiet spell.
    await new Promise((resolve) => setTimeout(resolve, defaultSoloQuietMs + 50));
    const solo: boolean[] = [];
    const stop = embedder.observe({ batchStarted: (_size, _tokens, _queue, onSolo) => solo.push(onSolo) });
    const alone: Embedding[] = [];
    for (const text of texts)
      alone.push((await embedder.embed([text], { kind: 'passage', outputs: ['dense'] }))[0]!);
    // One caller at a time: every text ran on the solo worker, the session with all the cores.
    expect(embedder.settings).toMatchObject({ poolSize: 2, threads: 1, soloThreads: 2 });
    expect(solo).toEqual(texts.map(() => true));
    solo.length = 0;

    const concurrent = await Promise.all(
      texts.map((text) => embedder.embed([text], { kind: 'passage', outputs: ['dense'] })),
    );
    stop();
    // Many at once: the pool's single-threaded workers took them, in batches.
    expect(solo.filter((onSolo) => !onSolo).length).toBeGreaterThan(0);
    expect(solo.length).toBeLessThan(texts.length);
    concurrent.forEach(([embedding], i) => {
      expect(embedding!.tokens).toBe(alone[i]!.tokens);
      embedding!.dense!.forEach((value, k) => {
        expect(value).toBeCloseTo(alone[i]!.dense![k]!, 5);
      });
    });
  });

  it('refuses an output the model does not have, naming it', async () => {
    const e5Like = await mkdtemp(join(root, 'dense-only-'));
    await writeTinyModel(e5Like, { seed: 3 });
    const manifestPath = join(e5Like, 'rag-model.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.outputs.colbert = null;
    await writeFile(manifestPath, JSON.stringify(manifest));
    const denseOnly = await createEmbedder({ modelDir: e5Like, threads: 1 });
    try {
      expect(denseOnly.info.outputs).toEqual({ dense: true, sparse: true, colbert: false });
      await expect(
        denseOnly.embed(['text'], { kind: 'query', outputs: ['dense', 'colbert'] }),
      ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('colbert') });
    } finally {
      await denseOnly.close();
    }
  });

  it('fails only the call whose text breaks the model, and keeps serving', async () => {
    // A tokenizer that knows one word more than the model's embedding table: ONNX Runtime's Gather rejects its id.
    const broken = await mkdtemp(join(root, 'broken-'));
    await writeTinyModel(broken, { seed: 3 });
    const tokenizerPath = join(broken, 'tokenizer.json');
    const tokenizer = JSON.parse(await readFile(tokenizerPath, 'utf8'));
    tokenizer.model.vocab.unembeddable = Object.keys(tokenizer.model.vocab).length;
    await writeFile(tokenizerPath, JSON.stringify(tokenizer));

    const fragile = await createEmbedder({ modelDir: broken, threads: 1 });
    try {
      const outputs = { kind: 'passage', outputs: ['dense'] } as const;
      const [bad, good] = await Promise.allSettled([
        fragile.embed(['an unembeddable word'], { ...outputs, outputs: [...outputs.outputs] }),
        fragile.embed(['a fine text'], { ...outputs, outputs: [...outputs.outputs] }),
      ]);
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'model_error' } });
      expect(good).toMatchObject({ status: 'fulfilled' });
      await expect(
        fragile.embed(['still working'], { kind: 'query', outputs: ['dense'] }),
      ).resolves.toHaveLength(1);
    } finally {
      await fragile.close();
    }
  });

  it('fails clearly when the model folder has no manifest', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    await expect(createEmbedder({ modelDir: empty })).rejects.toMatchObject({
      code: 'model_error',
      message: expect.stringContaining('rag-model.json'),
    });
  });

  it('refuses calls after close', async () => {
    const closing = await createEmbedder({ modelDir: join(root, 'tiny'), threads: 1 });
    const inFlight = closing.embed(['finishes first'], { kind: 'query', outputs: ['dense'] });
    await closing.close();
    await expect(inFlight).resolves.toHaveLength(1);
    await expect(closing.embed(['too late'], { kind: 'query', outputs: ['dense'] })).rejects.toMatchObject({
      code: 'shutting_down',
    });
  });
});
