import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaProviderProblem, explainProviderFailure, providerSessionOptions } from './execution-provider.js';

describe('execution providers', () => {
  it('asks ONNX Runtime for the CPU alone, or CUDA on the configured device with the CPU for the rest', () => {
    expect(providerSessionOptions({ name: 'cpu', deviceId: 0 })).toEqual(['cpu']);
    expect(providerSessionOptions({ name: 'cuda', deviceId: 3 })).toEqual([
      { name: 'cuda', deviceId: 3 },
      'cpu',
    ]);
  });

  it('turns a CUDA session failure into a start-up error naming the setting, the device and the first line', () => {
    const error = explainProviderFailure(
      { name: 'cuda', deviceId: 1 },
      new Error(
        'CUDA failure 100: no CUDA-capable device is detected\n\u001b[1;31m2026 [E:onnxruntime] more\u001b[m',
      ),
    );
    expect(error.message).toMatch(
      /^EMBED_EXECUTION_PROVIDER=cuda \(device 1\) is not available: CUDA failure 100: no CUDA-capable device is detected\. .*EMBED_EXECUTION_PROVIDER=cpu$/,
    );
  });

  it('leaves CPU failures as they are', () => {
    const original = new Error('model.onnx: protobuf parsing failed');
    expect(explainProviderFailure({ name: 'cpu', deviceId: 0 }, original)).toBe(original);
  });

  it('says whether this installation of onnxruntime-node has its CUDA provider library', () => {
    // The npm package ships CPU binaries only; docs/gpu.md adds the CUDA ones.
    const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const library = join(packageDir, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
    if (process.platform === 'linux' && process.arch === 'x64' && existsSync(library)) {
      expect(cudaProviderProblem()).toBeUndefined();
    } else {
      expect(cudaProviderProblem()).toMatch(/libonnxruntime_providers_cuda\.so is missing|needs Linux x64/);
    }
  });
});
