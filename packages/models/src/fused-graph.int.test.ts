import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFuseTolerance, fuseModelFolder } from './fused-graph.js';
import { repoRoot, runModelBuilder } from './model-builders.js';
import { loadModelFolder } from './model-manifest.js';
import { silentProgress } from './progress-reporter.js';

// The BGE-M3 architecture in its tiny configuration (encoder_graph.py, as the real converters write it), with
// XLM-R's tokenizer from the shared reference folder. Nothing is skipped: without it the run fails and says why.
const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
const tokenizerPath = join(sharedDir, 'models', 'multilingual-e5-small-q4', 'tokenizer.json');

describe('fuseModelFolder', () => {
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(tokenizerPath)) throw new Error(`${tokenizerPath} is missing; set SHARED_DIR`);
    dir = await mkdtemp(join(tmpdir(), 'fused-graph-'));
    await runModelBuilder(
      'build_bge_m3_size.py',
      ['--size', 'tiny', '--out', dir, '--tokenizer', tokenizerPath],
      silentProgress,
    );
  }, 600_000);
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('writes the fused graph beside the plain one, and the manifest names both', async () => {
    const outcome = await fuseModelFolder(dir, silentProgress);
    expect(outcome).toMatchObject({ fused: true, note: expect.stringContaining('model-fused.onnx') });
    const folder = await loadModelFolder(dir);
    expect(folder.modelPath).toBe(join(dir, 'model-fused.onnx'));
    expect(folder.manifest.fusedFrom).toMatchObject({
      model: 'model.onnx',
      tool: expect.stringContaining('onnxruntime.transformers'),
      tolerance: defaultFuseTolerance,
    });
    expect(folder.manifest.fusedFrom!.maxAbsDiff).toBeLessThanOrEqual(defaultFuseTolerance);
    // encoder_graph.py spells attention, residual + LayerNorm and GELU the way the optimiser recognises them.
    expect(folder.manifest.fusedFrom!.kernels).toMatchObject({
      Attention: 2,
      SkipLayerNormalization: 4,
      BiasGelu: 2,
    });
    // Its weights lie in an external-data file that ONNX Runtime maps.
    expect(existsSync(join(dir, 'model-fused.onnx.data'))).toBe(true);

    // Both graphs give the same outputs for a padded batch.
    const ids = [0, 9, 17, 33, 2, 0, 44, 2, 1, 1];
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const feeds = {
      input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [2, 5]),
      attention_mask: new Tensor('int64', BigInt64Array.from(mask, BigInt), [2, 5]),
    };
    const [plain, fused] = await Promise.all(
      ['model.onnx', 'model-fused.onnx'].map((name) => InferenceSession.create(join(dir, name))),
    );
    const a = await plain!.run(feeds);
    const b = await fused!.run(feeds);
    const dense = (result: typeof a) => result[folder.manifest.outputs.dense.name]!.data as Float32Array;
    dense(a).forEach((value, i) => {
      expect(Math.abs(value - dense(b)[i]!)).toBeLessThanOrEqual(1e-4);
    });
    await Promise.all([plain!.release(), fused!.release()]);

    // A second call finds it done.
    expect(await fuseModelFolder(dir, silentProgress)).toMatchObject({
      fused: true,
      note: expect.stringContaining('already fused'),
    });
  });
});
