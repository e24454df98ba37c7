import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from './engine/embedder.js';
import { metric, startTestService, testServiceToken } from './test-service.js';

/**
 * The embedding service when texts wait: a full queue, a client that goes away, a missed deadline, and
 * tokenisation beside a waiting queue. The requests and outputs themselves are in service.int.test.ts.
 */

/** Polls until `condition` holds; fails if `meanwhile` settles first, as then it never will. */
async function until(condition: () => boolean, meanwhile: Promise<unknown>): Promise<void> {
  let settled = false;
  void meanwhile.finally(() => {
    settled = true;
  });
  while (!condition()) {
    if (settled) throw new Error('the request finished before the condition held');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('embedding service under pressure (one worker, texts held in the queue)', () => {
  let root: string;
  let modelDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rag-embedding-pressure-'));
    modelDir = join(root, 'tiny');
    await writeTinyModel(modelDir, { seed: 3 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const manyTexts = (count: number) =>
    Array.from({ length: count }, (_, i) => `text ${i} ${'river '.repeat(100)}`);

  /**
   * Queued texts of one length wait for inference until `batchSize` of them fill a batch (a free worker waits up to ten
   * minutes for a batch to fill), so what a test sees while texts wait depends on no machine's speed; a request
   * that brings the queue to `batchSize` texts lets them all run.
   */
  const held = (batchSize: number) => ({
    modelDir,
    poolSize: 1,
    threads: 1,
    soloThreads: 0,
    maxBatchSize: batchSize,
    maxBatchTokens: 100_000_000,
    batchWaitMs: 600_000,
  });

  it('tokenizes while texts wait for inference: tokenisation does not wait behind the queue', async () => {
    const service = await startTestService(held(201), {
      limits: { maxInputs: 200, maxInputChars: 10_000, maxTotalTokens: 1_000_000 },
    });
    try {
      const waiting = service.post('/v1/embed', { inputs: manyTexts(200), outputs: ['colbert'] });
      let embedDone = false;
      void waiting.then(() => {
        embedDone = true;
      });
      await until(() => service.embedder.queuedTexts === 200, waiting);
      const tokenized = await service.post('/v1/tokenize', { inputs: ['quick'] });
      expect(tokenized.status).toBe(200);
      expect(embedDone).toBe(false);
      expect(service.embedder.queuedTexts).toBe(200);
      // The 201st text (as long as the others, so that it joins their batch) fills the batch: all of them run.
      const last = await service.post('/v1/embed', { inputs: manyTexts(1), outputs: ['colbert'] });
      expect(last.status).toBe(200);
      expect((await waiting).status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it("answers a search's query, and passages marked interactive, while an ingest's texts wait", async () => {
    const service = await startTestService(held(201), {
      limits: { maxInputs: 200, maxInputChars: 10_000, maxTotalTokens: 1_000_000 },
    });
    try {
      const ingest = service.post('/v1/embed', { inputs: manyTexts(200), outputs: ['dense'] });
      let ingestDone = false;
      void ingest.then(() => {
        ingestDone = true;
      });
      await until(() => service.embedder.queuedTexts === 200, ingest);
      const query = await service.post('/v1/embed', {
        inputs: ['how do I reset the filter'],
        kind: 'query',
        outputs: ['dense'],
      });
      expect(query.status).toBe(200);
      // A search's re-rank passages say so themselves.
      const rerank = await service.post('/v1/embed', {
        inputs: manyTexts(2),
        kind: 'passage',
        priority: 'interactive',
        outputs: ['dense'],
      });
      expect(rerank.status).toBe(200);
      expect(ingestDone).toBe(false);
      expect(service.embedder.queuedTexts).toBe(200);
      // A bulk text as long as the others fills the batch: the ingest's texts run.
      expect((await service.post('/v1/embed', { inputs: manyTexts(1), outputs: ['dense'] })).status).toBe(
        200,
      );
      expect((await ingest).status).toBe(200);
    } finally {
      await service.close();
    }
  });

  it('answers 429 with Retry-After when the queue is full', async () => {
    const service = await startTestService(
      { ...held(100), maxQueuedTexts: 100 },
      { limits: { maxInputs: 100, maxInputChars: 10_000, maxTotalTokens: 1_000_000 } },
    );
    try {
      const first = service.post('/v1/embed', { inputs: manyTexts(99), outputs: ['colbert'] });
      await until(() => service.embedder.queuedTexts === 99, first);
      // 99 texts wait in a queue of 100: two more do not fit.
      const refused = await service.post('/v1/embed', { inputs: manyTexts(2), outputs: ['dense'] });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toMatchObject({
        code: 'rate_limited',
        detail: expect.stringContaining('queue is full'),
      });
      // One more does, and fills the batch.
      expect((await service.post('/v1/embed', { inputs: manyTexts(1), outputs: ['colbert'] })).status).toBe(
        200,
      );
      expect((await first).status).toBe(200);
      expect(
        await metric(service, 'te_request_failure{err="rate_limited",service="embedding-service"}'),
      ).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('stops working for a client that disconnects: its queued texts never reach the model', async () => {
    const service = await startTestService(held(201), {
      limits: { maxInputs: 201, maxInputChars: 10_000, maxTotalTokens: 1_000_000 },
    });
    try {
      const body = JSON.stringify({ inputs: manyTexts(200), outputs: ['colbert'] });
      const { port } = new URL(service.url);
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/v1/embed',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': testServiceToken },
      });
      const answered = new Promise((resolve) => request.on('response', resolve));
      request.on('error', () => undefined);
      request.end(body);
      await until(() => service.embedder.queuedTexts === 200, answered);
      request.destroy();
      await until(() => service.embedder.queuedTexts === 0, answered);
      expect(await metric(service, 'te_batch_next_size_count{service="embedding-service"}')).toBe(0);
      // The service still answers others.
      const others = await service.post('/v1/embed', { inputs: manyTexts(201), outputs: ['dense'] });
      expect(others.status).toBe(200);
      expect(await metric(service, 'te_batch_next_size_count{service="embedding-service"}')).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('fails a request that misses its deadline with 504 and drops its queued texts', async () => {
    const service = await startTestService(
      { ...held(64), requestTimeoutMs: 200 },
      { limits: { maxInputs: 64, maxInputChars: 10_000, maxTotalTokens: 1_000_000 } },
    );
    try {
      const response = await service.post('/v1/embed', { inputs: manyTexts(50), outputs: ['colbert'] });
      expect(response.status).toBe(504);
      // A 5xx names no internals: a fixed message for the code and the request id to find the cause.
      expect(await response.json()).toMatchObject({
        code: 'timeout',
        detail: expect.stringContaining('did not answer in time'),
      });
      expect(service.embedder.queuedTexts).toBe(0);
    } finally {
      await service.close();
    }
  });

  it('refuses to start on CUDA where onnxruntime-node has no CUDA provider, saying what to do', async () => {
    await expect(createEmbedder({ modelDir, provider: 'cuda', deviceId: 0 })).rejects.toMatchObject({
      code: 'model_error',
      message: expect.stringMatching(
        /EMBED_EXECUTION_PROVIDER=cuda is not available: .*ONNXRUNTIME_NODE_INSTALL=cuda12.*docs\/gpu\.md/,
      ),
    });
  });
});
