import type { ModelManifest } from '@rag/models/model-manifest';
import { describe, expect, it } from 'vitest';
import { modelSessionOptions, resolveGraphOutputs } from './model-runner.js';

const bgeM3: ModelManifest = {
  name: 'bge-m3-export',
  family: 'bge-m3',
  dim: 4,
  maxLength: 16,
  tokenTypeIds: false,
  files: { model: 'model.onnx', tokenizer: 'tokenizer.json' },
  outputs: {
    dense: { name: 'dense_vecs', pooling: 'none', normalize: true },
    sparse: { name: 'sparse_vecs' },
    colbert: { name: 'colbert_vecs' },
  },
  prefixes: { query: '', passage: '' },
};
const graph = (outputNames: string[], inputNames = ['input_ids', 'attention_mask']) => ({
  inputNames,
  outputNames,
});

describe('resolveGraphOutputs', () => {
  it('finds named outputs', () => {
    expect(
      resolveGraphOutputs(graph(['colbert_vecs', 'dense_vecs', 'sparse_vecs']), bgeM3, 'm.onnx'),
    ).toEqual({
      dense: 'dense_vecs',
      sparse: 'sparse_vecs',
      colbert: 'colbert_vecs',
    });
  });

  it('takes outputs by position for exports whose names mean nothing', () => {
    const positional: ModelManifest = {
      ...bgeM3,
      outputs: {
        dense: { name: 'dense', index: 0, pooling: 'cls', normalize: true },
        sparse: { name: 'sparse', index: 1 },
        colbert: { name: 'colbert', index: 2 },
      },
    };
    expect(resolveGraphOutputs(graph(['1587', '1590', '1601']), positional, 'm.onnx')).toEqual({
      dense: '1587',
      sparse: '1590',
      colbert: '1601',
    });
    expect(() => resolveGraphOutputs(graph(['1587', '1590']), positional, 'm.onnx')).toThrow(
      /no output at index 2 \(colbert, 'colbert'\)/,
    );
  });

  it('serves a sentence encoder dense only, fed token_type_ids when its graph has them', () => {
    const encoder: ModelManifest = {
      ...bgeM3,
      family: 'encoder',
      tokenTypeIds: true,
      outputs: {
        dense: { name: 'last_hidden_state', pooling: 'mean', normalize: true },
        sparse: null,
        colbert: null,
      },
    };
    const bert = graph(['last_hidden_state'], ['input_ids', 'attention_mask', 'token_type_ids']);
    expect(resolveGraphOutputs(bert, encoder, 'm.onnx')).toEqual({
      dense: 'last_hidden_state',
      sparse: undefined,
      colbert: undefined,
    });
    expect(() => resolveGraphOutputs(bert, { ...encoder, tokenTypeIds: false }, 'm.onnx')).toThrow(
      /has an input 'token_type_ids' the manifest does not feed/,
    );
  });

  it('names every mismatch and what the graph does have', () => {
    expect(() => resolveGraphOutputs(graph(['last_hidden_state'], ['input_ids']), bgeM3, 'm.onnx')).toThrow(
      /has no input 'attention_mask'; has no output 'dense_vecs'.*outputs: last_hidden_state/,
    );
  });
});

describe('modelSessionOptions', () => {
  it('plans no memory pattern on CPU, where the arena kept more memory with one, and keeps the arena', () => {
    const cpu = modelSessionOptions({ threads: 1, provider: { name: 'cpu', deviceId: 0 } });
    expect(cpu).toMatchObject({ enableMemPattern: false, intraOpNumThreads: 1, executionProviders: ['cpu'] });
    expect(cpu.enableCpuMemArena).not.toBe(false);
    expect(
      modelSessionOptions({ threads: 1, provider: { name: 'cuda', deviceId: 0 } }).enableMemPattern,
    ).toBe(true);
  });

  it('lets only a spinning session spin, and stops it when a run returns', () => {
    const cpu = { name: 'cpu', deviceId: 0 } as const;
    expect(modelSessionOptions({ threads: 2, spinning: true, provider: cpu }).extra).toEqual({
      session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' },
    });
    expect(modelSessionOptions({ threads: 2, provider: cpu }).extra).toEqual({
      session: { intra_op: { allow_spinning: '0' } },
    });
  });
});
