import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { migrate } from '@rag/db/migrate';
import { closeServer, listen } from '@rag/http/http-server';
import { createSearchClient } from '@rag/service-clients/search-client';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { createMilvusStore, type MilvusStore } from '@rag/vector-store/milvus-store';
import { Histogram } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSearchApp } from './app.js';
import { createDependencyWatch, type DependencyWatch } from './dependency-watch.js';

/**
 * A hung Milvus (SIGSTOP: the port still accepts connections, nothing answers) under the search service:
 * searches must fail at once with 503 and Retry-After instead of waiting out every timeout, the health
 * route names Milvus, and all of it clears when Milvus answers again.
 */
const serviceToken = 's'.repeat(32);
let milvus: MilvusLite;
let store: MilvusStore;
let db: TestDatabase;
let watch: DependencyWatch;
let server: Server;
let base: string;
let searchesRun = 0;

beforeAll(async () => {
  milvus = await startMilvusLite();
  store = createMilvusStore({
    address: milvus.address,
    collectionPrefix: `watch_${process.pid}_`,
    space: { model: 'watch-test', dim: 4, hasSparse: false },
  });
  await store.ensureReady();
  db = await createTestDatabase('watch', migrate);
  // Probed by the test itself (probe()), so nothing depends on how soon the background probe runs.
  watch = createDependencyWatch({
    name: 'Milvus',
    check: () => store.checkHealth(),
    intervalMs: 3_600_000,
    timeoutMs: 1_000,
  });
  const metrics = createServiceMetrics('watch-test');
  const { app } = createSearchApp({
    logger: createLogger({ service: 'watch-test', level: 'silent' }),
    metrics,
    pool: db.pool,
    searchDuration: new Histogram({
      name: 'watch_test_search_seconds',
      help: 'test',
      labelNames: ['mode', 'outcome'] as const,
      registers: [metrics.registry],
    }),
    search: async () => {
      searchesRun++;
      throw new Error('the search engine must not be reached while Milvus is known to be down');
    },
    checkVectorStore: () => store.checkHealth(),
    checkEmbeddings: async () => {},
    serviceToken,
    watched: [watch],
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  watch?.stop();
  if (milvus) process.kill(milvus.pid, 'SIGCONT');
  if (server) await closeServer(server, 1000);
  await store?.close();
  await milvus?.stop();
  await db?.drop();
});

const searchRequest = () => ({
  query: 'anything',
  top_k: 5,
  mode: 'dense',
  group_by_document: false,
  scope: { tenantId: 'acme', collectionId: randomUUID(), principals: null },
});

/**
 * Probes until one is answered in time. On a loaded machine a probe of a running Milvus can itself outlast the 1 s
 * timeout (the first call on a connection, or Milvus just resumed from SIGSTOP); that is no hang, and what this test
 * checks is that the watch clears once Milvus answers, not how fast it answers.
 */
async function probeUntilUp(): Promise<void> {
  for (let attempt = 0; attempt < 30 && (attempt === 0 || watch.problem() !== undefined); attempt++) {
    await watch.probe();
  }
  expect(watch.problem()).toBeUndefined();
}

describe('a hung Milvus', () => {
  it('fails searches at once with 503 and Retry-After, names Milvus in health, and clears when it answers', async () => {
    const client = createSearchClient({ baseUrl: base, serviceToken });
    await probeUntilUp();
    await client.checkHealth();

    process.kill(milvus.pid, 'SIGSTOP');
    try {
      await watch.probe();
      expect(watch.problem()).toMatch(/no answer within 1000 ms/);

      const refused = await fetch(`${base}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': serviceToken },
        body: JSON.stringify(searchRequest()),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // The cause (Milvus) stays in this service's log; callers get the code's fixed message.
      expect(((await refused.json()) as { detail: string }).detail).toMatch(
        /^A service this request needs is unavailable/,
      );
      expect(searchesRun).toBe(0);
      await expect(client.checkHealth()).rejects.toMatchObject({ code: 'dependency_unavailable' });
    } finally {
      // Resumed even when an assertion failed, so the next test does not meet a stopped Milvus.
      process.kill(milvus.pid, 'SIGCONT');
    }
    await probeUntilUp();
    await client.checkHealth();
  }, 60_000);

  it('ends a search already waiting on it at the search deadline, as 503, not at the client timeout', async () => {
    // The SDK's own deadline is far beyond this test's timeout: only the search deadline can end the call.
    const waiting = createMilvusStore({
      address: milvus.address,
      collectionPrefix: `watch_${process.pid}_`,
      space: { model: 'watch-test', dim: 4, hasSparse: false },
      timeoutMs: 600_000,
      searchTimeoutMs: 1_000,
    });
    try {
      await waiting.ensureReady();
      process.kill(milvus.pid, 'SIGSTOP');
      const search = waiting.searchSignals({
        scope: { tenantId: 'acme', collectionId: randomUUID() },
        principals: null,
        metadataFilter: '',
        vectors: { dense: [1, 0, 0, 0] },
        limit: 5,
      });
      await expect(search).rejects.toMatchObject({ code: 'dependency_unavailable' });
    } finally {
      process.kill(milvus.pid, 'SIGCONT');
      await waiting.close();
    }
  }, 30_000);
});
