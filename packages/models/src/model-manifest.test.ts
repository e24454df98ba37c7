import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFolder, type ModelManifestInput, manifestFileName } from './model-manifest.js';

const manifest: ModelManifestInput = {
  name: 'test-model',
  family: 'encoder',
  dim: 4,
  maxLength: 16,
  tokenTypeIds: false,
  outputs: {
    dense: { name: 'sentence_embedding', pooling: 'none', normalize: true },
    sparse: null,
    colbert: null,
  },
  prefixes: { query: 'query: ', passage: 'passage: ' },
};

describe('loadModelFolder', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rag-manifest-'));
    await writeFile(join(dir, 'model.onnx'), 'onnx');
    await writeFile(join(dir, 'tokenizer.json'), '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads rag-model.json from the folder and fills in default file names', async () => {
    await writeFile(join(dir, manifestFileName), JSON.stringify(manifest));
    const folder = await loadModelFolder(dir);
    expect(folder.manifest.name).toBe('test-model');
    expect(folder.modelPath).toBe(join(dir, 'model.onnx'));
    expect(folder.tokenizerPath).toBe(join(dir, 'tokenizer.json'));
  });

  it('prefers a manifest given by path, for read-only model folders', async () => {
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify({ ...manifest, name: 'from-path' }));
    const folder = await loadModelFolder(dir, { manifestPath: elsewhere });
    expect(folder.manifest.name).toBe('from-path');
  });

  it('fails clearly when the folder has no manifest and none is given', async () => {
    await expect(loadModelFolder(dir)).rejects.toThrow(
      /has no rag-model\.json; add one or pass manifestPath/,
    );
  });

  it('fails clearly when the folder does not exist', async () => {
    await expect(loadModelFolder(join(dir, 'nope'))).rejects.toThrow(/does not exist/);
  });

  it('names every invalid field', async () => {
    const { dim: _dim, ...withoutDim } = manifest;
    await writeFile(
      join(dir, manifestFileName),
      JSON.stringify({
        ...withoutDim,
        outputs: { ...manifest.outputs, dense: { name: 'x', pooling: 'max' } },
      }),
    );
    const error = await loadModelFolder(dir).then(
      () => new Error('expected the manifest to be refused'),
      (caught: unknown) => caught as Error,
    );
    expect(error.message).toMatch(/^Invalid model manifest/);
    expect(error.message).toContain('dim:');
    expect(error.message).toContain('outputs.dense.pooling:');
    expect(error.message).toContain('outputs.dense.normalize:');
  });

  it('names the missing model file and the manifest field that points at it', async () => {
    await writeFile(
      join(dir, manifestFileName),
      JSON.stringify({ ...manifest, files: { model: 'missing.onnx', tokenizer: 'tokenizer.json' } }),
    );
    await expect(loadModelFolder(dir)).rejects.toThrow(/lacks .*missing\.onnx \(manifest field files\.model/);
  });

  it('accepts the shipped manifest of multilingual-e5-small', async () => {
    const shipped = new URL('../manifests/multilingual-e5-small.json', import.meta.url).pathname;
    const folder = await loadModelFolder(dir, { manifestPath: shipped });
    expect(folder.manifest).toMatchObject({ dim: 384, maxLength: 512, prefixes: { query: 'query: ' } });
  });
});
