import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferManifest } from './infer-manifest.js';
import { parseModelManifest } from './model-manifest.js';
import { readGraphSignature } from './onnx-graph-signature.js';
import { buildTinyModel } from './tiny-model.js';

const ids = ['input_ids', 'attention_mask'];
const xlmr = { hidden_size: 1024, max_position_embeddings: 8194, model_type: 'xlm-roberta' };

describe('inferManifest', () => {
  it('reads BGE-M3 from named outputs, or from three positional ones', () => {
    const named = inferManifest({
      repo: 'BAAI/bge-m3',
      signature: { inputs: ids, outputs: ['dense_vecs', 'sparse_vecs', 'colbert_vecs'] },
      config: xlmr,
    });
    expect(named).toMatchObject({
      family: 'bge-m3',
      dim: 1024,
      maxLength: 8192,
      tokenTypeIds: false,
      outputs: { dense: { name: 'dense_vecs', pooling: 'none' }, sparse: { name: 'sparse_vecs' } },
      prefixes: { query: '', passage: '' },
    });
    const positional = inferManifest({
      repo: 'someone/bge-m3-onnx',
      signature: { inputs: ids, outputs: ['output_0', 'output_1', 'output_2'] },
      config: xlmr,
    });
    expect(positional.outputs).toEqual({
      dense: { name: 'output_0', pooling: 'none', normalize: true },
      sparse: { name: 'output_1' },
      colbert: { name: 'output_2' },
    });
    expect(() => parseModelManifest(positional, 'inferred')).not.toThrow();
  });

  it('pools a token-level output as 1_Pooling/config.json says, else CLS for BGE and mean otherwise', () => {
    const bert = { hidden_size: 384, max_position_embeddings: 512, model_type: 'bert' };
    const base = {
      signature: { inputs: [...ids, 'token_type_ids'], outputs: ['last_hidden_state'] },
      config: bert,
    };
    const e5 = inferManifest({ ...base, repo: 'intfloat/multilingual-e5-small' });
    expect(e5).toMatchObject({
      family: 'encoder',
      dim: 384,
      maxLength: 512,
      tokenTypeIds: true,
      outputs: { dense: { name: 'last_hidden_state', pooling: 'mean' }, sparse: null, colbert: null },
      prefixes: { query: 'query: ', passage: 'passage: ' },
    });
    expect(inferManifest({ ...base, repo: 'BAAI/bge-small-en-v1.5' }).outputs.dense.pooling).toBe('cls');
    expect(
      inferManifest({ ...base, repo: 'acme/encoder', poolingConfig: { pooling_mode_cls_token: true } })
        .outputs.dense.pooling,
    ).toBe('cls');
    const limited = inferManifest({
      ...base,
      repo: 'acme/encoder',
      tokenizerConfig: { model_max_length: 256 },
    });
    expect(limited.maxLength).toBe(256);
    const unlimited = inferManifest({
      ...base,
      repo: 'acme/encoder',
      tokenizerConfig: { model_max_length: 1e30 },
    });
    expect(unlimited.maxLength).toBe(512);
  });

  it('explains what is missing', () => {
    const signature = { inputs: ids, outputs: ['sentence_embedding'] };
    expect(() => inferManifest({ repo: 'a/b', signature, config: {} })).toThrow(
      /config.json lacks hidden_size/,
    );
    expect(() =>
      inferManifest({ repo: 'a/b', signature: { inputs: ['input_ids'], outputs: ['x'] }, config: xlmr }),
    ).toThrow(/no attention_mask input/);
  });
});

describe('readGraphSignature', () => {
  it('reads input and output names without decoding the weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signature-'));
    try {
      const path = join(dir, 'model.onnx');
      await writeFile(path, buildTinyModel().files['model.onnx']!);
      expect(await readGraphSignature(path)).toEqual({
        inputs: ['input_ids', 'attention_mask'],
        outputs: ['dense_vecs', 'sparse_vecs', 'colbert_vecs'],
      });
      await writeFile(path, 'not a model');
      await expect(readGraphSignature(path)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
