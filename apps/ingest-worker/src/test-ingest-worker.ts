import { insertCollection } from '@rag/db/collection-repository';
import { type DocumentRecord, insertDocument } from '@rag/db/document-repository';
import type { Pool } from '@rag/db/pool';
import { createDocumentExtractor } from '@rag/documents/document-extractor';
import { ingestEventsQueueName } from '@rag/ingest-contract/ingest-event';
import { deadLetterQueueName } from '@rag/ingest-contract/ingest-job';
import { createWebhookSecretCipher, webhookSecretKeys } from '@rag/ingest-contract/webhook-secret-cipher';
import type { RedisConnection } from '@rag/redis/redis-connection';
import { createEmbeddingClient } from '@rag/service-clients/embedding-client';
import { createLocalStorage } from '@rag/storage/local-storage';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics, type ServiceMetrics } from '@rag/telemetry/metrics-registry';
import { lazyVectorStore } from '@rag/vector-store/lazy-vector-store';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { type Job, Queue, type Worker } from 'bullmq';
import { createWorker } from './app.js';
import { createDocumentPipeline } from './document-pipeline.js';

/**
 * The ingest worker made by `createWorker`, as main.ts makes it, for integration tests, with the embedding
 * service down (nothing listens on its address, so every embedding call fails like an outage would): real
 * Redis/BullMQ, PostgreSQL, Milvus Lite and local storage.
 */
export interface TestIngestWorkerOptions {
  /** A connection made as the worker makes it (maxRetriesPerRequest: null), to a server or a cluster. */
  redis: RedisConnection;
  /** The queues' prefix (queueKeyPrefix: hash-tagged on a cluster). */
  queuePrefix: string;
  /** The prefix of the collection writer lock's keys, the Milvus collections and the storage folder. */
  keyPrefix: string;
  /** A migrated database: the tenant `acme` and its collection `docs` are created in it. */
  pool: Pool;
  milvusAddress: string;
  /** An address where nothing listens: the embedding service's. */
  embeddingUrl: string;
  concurrency: number;
  /** The `service` label of the worker's metrics. */
  service: string;
}

export interface TestIngestWorker {
  worker: Worker;
  queue: Queue;
  deadLetterQueue: Queue;
  eventsQueue: Queue;
  metrics: ServiceMetrics;
  /** The id of the collection `docs` of tenant `acme`. */
  collectionId: string;
  /** Waits until a job completed or failed (at most 30 s) and reads it back. */
  settled(job: Job): Promise<Job>;
  /** A document row in `docs` and the job the gateway queues to build it (its text in the job). */
  newDocument(
    text: string,
  ): Promise<{ document: DocumentRecord; job: Record<string, unknown> & { text: string } }>;
  /** The job the gateway queues to delete a document of `docs`. */
  deleteJob(documentId: string): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startTestIngestWorker(options: TestIngestWorkerOptions): Promise<TestIngestWorker> {
  const { redis, queuePrefix: prefix, keyPrefix, pool } = options;
  await pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  const collectionId = (await insertCollection(pool, 'acme', 'docs'))!.id;
  const embeddings = createEmbeddingClient({
    baseUrl: options.embeddingUrl,
    serviceToken: 'unused-because-nothing-listens-there',
    timeoutMs: 2_000,
  });
  const vectorStore = lazyVectorStore(
    async () => ({ model: 'worker-test', dim: 8, hasSparse: true }),
    (space) =>
      createMilvusStore({ address: options.milvusAddress, collectionPrefix: `${keyPrefix}_`, space }),
  );
  const storage = createLocalStorage({ root: `/tmp/${keyPrefix}-storage` });
  const extractor = createDocumentExtractor();
  const metrics = createServiceMetrics(options.service);
  const app = createWorker({
    pool,
    redis,
    queuePrefix: prefix,
    lockPrefix: keyPrefix,
    storage,
    embeddings,
    pipeline: createDocumentPipeline({
      storage,
      embeddings,
      extractor,
      maxInputBytes: 1_000_000,
      overlapTokens: 8,
    }),
    vectorStore: vectorStore.get,
    webhookCipher: createWebhookSecretCipher(webhookSecretKeys(undefined, 'worker-test-token')),
    logger: createLogger({ service: 'ingest-worker-test', level: 'silent' }),
    metrics,
    settings: {
      concurrency: options.concurrency,
      embedBatchSize: 8,
      webhooks: { attempts: 1, backoffMs: 10, timeoutMs: 1_000, allowedHosts: [], allowPrivate: false },
      statistics: { checkIntervalMs: 0, minIntervalMs: 0, changedRows: 1_000, changedFraction: 0.1 },
      reindex: { batchDocuments: 64, keepOldSeconds: 0 },
      repair: { intervalMs: 5_000, probeTimeoutMs: 3_000 },
    },
  });
  const { queue, ingestWorker: worker } = app;
  const deadLetterQueue = new Queue(deadLetterQueueName, { connection: redis, prefix });
  const eventsQueue = new Queue(ingestEventsQueueName, { connection: redis, prefix });
  // The ingest queue's consumer only: no webhook delivery, vector repair or statistics upkeep runs here.
  void worker.run();

  async function settled(job: Job): Promise<Job> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await job.getState();
      if (state === 'failed' || state === 'completed') return (await queue.getJob(job.id!))!;
      if (Date.now() > deadline) throw new Error(`job ${job.id} still ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function newDocument(text: string) {
    const document = (await insertDocument(pool, {
      tenantId: 'acme',
      collectionId,
      externalId: null,
      title: null,
      contentHash: text,
      metadata: {},
      acl: null,
    }))!;
    const job = { v: 2, type: 'ingest-version', tenantId: 'acme', documentId: document.id, version: 1, text };
    return { document, job };
  }

  return {
    worker,
    queue,
    deadLetterQueue,
    eventsQueue,
    metrics,
    collectionId,
    settled,
    newDocument,
    deleteJob: (documentId) => ({ v: 2, type: 'delete', tenantId: 'acme', collection: 'docs', documentId }),
    async close() {
      for (const step of app.stopSteps) await step.run();
      await app.closeQueues();
      await Promise.all([deadLetterQueue.close(), eventsQueue.close()]);
      await vectorStore.close();
      await extractor.close();
    },
  };
}
