import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExecutionProvider } from '@rag/contracts/embedding-api';
import type { InferenceSession } from 'onnxruntime-node';

export interface ExecutionProviderConfig {
  name: ExecutionProvider;
  /** CUDA device ordinal; ignored on CPU. */
  deviceId: number;
}

/** ONNX Runtime session options that put the graph on the configured provider, with no silent fallback. */
export function providerSessionOptions(
  provider: ExecutionProviderConfig,
): InferenceSession.ExecutionProviderConfig[] {
  if (provider.name === 'cpu') return ['cpu'];
  // CPU stays listed after CUDA so that the few operators without a CUDA kernel can still run; whether CUDA
  // itself loads is checked before (cudaProviderProblem) and ONNX Runtime fails the session if it cannot start.
  return [{ name: 'cuda', deviceId: provider.deviceId }, 'cpu'];
}

/**
 * onnxruntime-node ships CPU binaries only; its CUDA provider is a separate shared library that its install script
 * downloads on request (docs/gpu.md). Returns why CUDA cannot work here, or undefined when its library is present.
 */
export function cudaProviderProblem(): string | undefined {
  const require = createRequire(import.meta.url);
  let binaryDir: string;
  try {
    const packageDir = dirname(require.resolve('onnxruntime-node/package.json'));
    binaryDir = join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
  } catch (error) {
    return `onnxruntime-node could not be located: ${(error as Error).message}`;
  }
  const library = join(binaryDir, 'libonnxruntime_providers_cuda.so');
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the CUDA provider of onnxruntime-node needs Linux x64, not ${process.platform} ${process.arch}`;
  }
  if (!existsSync(library)) {
    return (
      `${library} is missing: onnxruntime-node was installed without its CUDA binaries ` +
      '(fetch them with `ONNXRUNTIME_NODE_INSTALL=cuda12 node <onnxruntime-node>/script/install.js`, or use the ' +
      'CUDA image; see docs/gpu.md)'
    );
  }
  return undefined;
}

/** Wraps a session-creation failure on CUDA so that it says which setting asked for CUDA and where to look. */
export function explainProviderFailure(provider: ExecutionProviderConfig, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (provider.name === 'cpu') return error instanceof Error ? error : new Error(message);
  return new Error(
    `EMBED_EXECUTION_PROVIDER=cuda (device ${provider.deviceId}) is not available: ${firstLine(message)}. ` +
      'Check the driver, CUDA 12 and cuDNN 9 libraries and EMBED_CUDA_DEVICE_ID (docs/gpu.md), or set EMBED_EXECUTION_PROVIDER=cpu',
    { cause: error },
  );
}

function firstLine(text: string): string {
  // ONNX Runtime appends its own colour-coded log line; the first line says what failed.
  return text
    .split('\n')[0]!
    .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
    .trim();
}
