import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelManifest } from './model-manifest.js';
import { buildTinyModel, writeTinyModel } from './tiny-model.js';

const { onnx } = onnxProto;

describe('tiny model', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rag-tiny-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is byte-identical every time it is generated', () => {
    const first = buildTinyModel({ dim: 16, seed: 7 });
    const second = buildTinyModel({ dim: 16, seed: 7 });
    expect(second.contentHash).toBe(first.contentHash);
    for (const [name, bytes] of Object.entries(first.files)) {
      expect(Buffer.compare(Buffer.from(second.files[name]!), Buffer.from(bytes)), name).toBe(0);
    }
    expect(buildTinyModel({ dim: 16, seed: 8 }).contentHash).not.toBe(first.contentHash);
  });

  it('writes a loadable folder and leaves it untouched when run again', async () => {
    const first = await writeTinyModel(dir, { seed: 1 });
    expect(first.written).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'rag-model.json', 'tokenizer.json']);
    const before = (await stat(join(dir, 'model.onnx'))).mtimeMs;

    const second = await writeTinyModel(dir, { seed: 1 });
    expect(second).toMatchObject({ written: false, contentHash: first.contentHash });
    expect((await stat(join(dir, 'model.onnx'))).mtimeMs).toBe(before);

    const manifest = parseModelManifest(
      JSON.parse(await readFile(join(dir, 'rag-model.json'), 'utf8')),
      'tiny',
    );
    expect(manifest).toMatchObject({ family: 'bge-m3', dim: 32, outputs: { dense: { pooling: 'none' } } });
  });

  it('has an embedding table with one row per vocabulary entry and BGE-M3 input and output names', () => {
    const { files } = buildTinyModel({ dim: 8 });
    const tokenizer = JSON.parse(new TextDecoder().decode(files['tokenizer.json'])) as {
      model: { vocab: Record<string, number> };
      added_tokens: { id: number; content: string }[];
    };
    const vocabSize = Object.keys(tokenizer.model.vocab).length;
    expect(new Set(Object.values(tokenizer.model.vocab)).size).toBe(vocabSize);
    expect(Math.max(...Object.values(tokenizer.model.vocab))).toBe(vocabSize - 1);
    expect(tokenizer.added_tokens.map((token) => [token.content, token.id])).toEqual([
      ['<s>', 0],
      ['<pad>', 1],
      ['</s>', 2],
      ['<unk>', 3],
    ]);

    const model = onnx.ModelProto.decode(files['model.onnx']!);
    const table = model.graph?.initializer?.find((tensor) => tensor.name === 'token_embeddings');
    expect(table?.dims?.map(Number)).toEqual([vocabSize, 8]);
    expect(model.graph?.input?.map((input) => input.name)).toEqual(['input_ids', 'attention_mask']);
    expect(model.graph?.output?.map((output) => output.name)).toEqual([
      'dense_vecs',
      'sparse_vecs',
      'colbert_vecs',
    ]);
  });
});
