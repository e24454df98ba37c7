import { ConfigError } from '@rag/config/parse-config';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { MODEL_DIR: '/models/m', SERVICE_TOKEN: 's'.repeat(32) };

describe('embedding service config', () => {
  it('defaults to CPU, leaves the pool to the machine, and has request limits', () => {
    const config = loadConfig(base);
    expect(config.inference).toEqual({ provider: 'cpu', deviceId: 0, soloSpinning: 'auto' });
    expect(config.limits).toEqual({ maxInputs: 256, maxInputChars: 100_000, maxTotalTokens: 131_072 });
  });

  it('reads the provider, pool and batching variables', () => {
    const config = loadConfig({
      ...base,
      EMBED_EXECUTION_PROVIDER: 'cuda',
      EMBED_CUDA_DEVICE_ID: '1',
      EMBED_CORES: '8',
      EMBED_POOL_SIZE: '2',
      EMBED_INTRA_OP_THREADS: '4',
      EMBED_SOLO_THREADS: '0',
      EMBED_SOLO_SPINNING: 'off',
      EMBED_BATCH_WAIT_MS: '2',
      EMBED_MAX_QUEUE: '100',
      EMBED_REQUEST_TIMEOUT_MS: '5000',
    });
    expect(config.inference).toMatchObject({
      provider: 'cuda',
      deviceId: 1,
      cores: 8,
      poolSize: 2,
      intraOpThreads: 4,
      soloThreads: 0,
      soloSpinning: 'off',
      batchWaitMs: 2,
      maxQueuedTexts: 100,
      requestTimeoutMs: 5000,
    });
  });

  it('still reads the cores from EMBED_THREADS, their former name, when EMBED_CORES is unset', () => {
    expect(loadConfig({ ...base, EMBED_THREADS: '6' }).inference.cores).toBe(6);
    expect(loadConfig({ ...base, EMBED_THREADS: '6', EMBED_CORES: '3' }).inference.cores).toBe(3);
  });

  it('names the variable of every bad value', () => {
    let error: unknown;
    try {
      loadConfig({
        ...base,
        EMBED_EXECUTION_PROVIDER: 'rocm',
        EMBED_POOL_SIZE: '0',
        EMBED_SOLO_THREADS: '-1',
        EMBED_MAX_INPUTS: 'many',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of [
      'EMBED_EXECUTION_PROVIDER',
      'EMBED_POOL_SIZE',
      'EMBED_SOLO_THREADS',
      'EMBED_MAX_INPUTS',
    ]) {
      expect((error as ConfigError).message).toContain(name);
    }
  });

  it('asks for the model folder, and lists an unreadable service token with the other problems', () => {
    let error: unknown;
    try {
      loadConfig({ SERVICE_TOKEN_FILE: 'secrets/service-token', EMBED_MAX_BATCH_TOKENS: '8' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^SERVICE_TOKEN_FILE \(serviceToken\): must be an absolute path.*RAG_BASE_DIR/),
      'MODEL_DIR (model.dir): name the model folder (model.onnx, tokenizer.json, rag-model.json)',
      expect.stringMatching(/^EMBED_MAX_BATCH_TOKENS \(inference\.maxBatchTokens\): /),
    ]);
  });
});
