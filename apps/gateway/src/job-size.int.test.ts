import { rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Principal } from '@rag/auth/principal';
import { insertCollection } from '@rag/db/collection-repository';
import { migrate } from '@rag/db/migrate';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { createLocalStorage } from '@rag/storage/local-storage';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestQueue, type IngestQueue } from './ingest-queue.js';
import { documentRoutes } from './routes/document-routes.js';

/**
 * What a JSON document's queued job costs Redis: the document's id and version, and short text; a large text
 * is stored (the row names its key) and never travels in the job.
 */
const prefix = uniqueTestPrefix('jobsize');
const storageRoot = `/tmp/${prefix}-storage`;
let db: TestDatabase;
let redis: Redis;
let queue: IngestQueue;
let server: Server;
let base: string;

const writer: Principal = {
  tenantId: 'acme',
  role: 'admin',
  collections: null,
  system: false,
  keyId: 'test-key',
  subject: null,
  principals: null,
};

beforeAll(async () => {
  db = await createTestDatabase('jobsize', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  await insertCollection(db.pool, 'acme', 'docs');
  redis = new Redis('redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
  queue = createIngestQueue({ connection: redis, prefix, attempts: 1, backoffMs: 10 });
  const { app } = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '2mb',
    readiness: [],
    routes(router) {
      router.use((req, _res, next) => {
        req.principal = writer;
        next();
      });
      router.use(
        documentRoutes({
          pool: db.pool,
          queue,
          storage: createLocalStorage({ root: storageRoot }),
          upload: { maxFileBytes: 1_000_000, maxFieldBytes: 1024 },
        }),
      );
    },
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  if (server) await closeServer(server, 1000);
  const keys = await redis?.keys(`${prefix}*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  await queue?.close();
  redis?.disconnect();
  await db?.drop();
  await rm(storageRoot, { recursive: true, force: true });
});

async function post(text: string): Promise<string> {
  const response = await fetch(`${base}/v1/collections/docs/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** The job's hash in Redis, as BullMQ stores it. */
async function storedJob(documentId: string): Promise<{ data: string; bytes: number }> {
  const key = `${prefix}:${ingestQueueName}:ingest-${documentId}-v1`;
  const data = await redis.hget(key, 'data');
  const bytes = Number(await redis.call('MEMORY', 'USAGE', key));
  return { data: data ?? '', bytes };
}

describe('ingest jobs in Redis', () => {
  it('carry a large JSON document as its id and version only, its text stored', async () => {
    const text = `${'A long report about the harbour extension. '.repeat(5000)}The end.`;
    const id = await post(text);
    const job = await storedJob(id);
    expect(JSON.parse(job.data)).toMatchObject({ v: 2, type: 'ingest-version', documentId: id, version: 1 });
    expect(job.data).not.toContain('harbour');
    expect(job.bytes).toBeLessThan(8 * 1024);
    const { rows } = await db.pool.query('SELECT source_key FROM documents WHERE id = $1', [id]);
    expect(rows[0].source_key).toBe(`documents/acme/${id}/v1/document.txt`);
  });

  it('carry a short document inline', async () => {
    const job = await storedJob(await post('A short note about the harbour.'));
    expect(JSON.parse(job.data)).toMatchObject({
      type: 'ingest-version',
      text: 'A short note about the harbour.',
    });
  });
});
