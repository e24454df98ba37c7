import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { migrate } from '@rag/db/migrate';
import { upsertWebhook } from '@rag/db/webhook-repository';
import {
  createWebhookSecretCipher,
  parseWebhookSecretKeys,
} from '@rag/ingest-contract/webhook-secret-cipher';
import {
  signatureHeader,
  timestampHeader,
  verifyWebhookSignature,
} from '@rag/ingest-contract/webhook-signature';
import {
  type ResolvedAddress,
  resolveWebhookTarget,
  type WebhookTargetPolicy,
} from '@rag/ingest-contract/webhook-target';
import { createLogger } from '@rag/telemetry/logger';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { type Job, Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompletionEvents,
  createCompletionEvents,
  createWebhookDeliveryWorker,
  webhookQueueName,
} from './completion-events.js';

/**
 * Webhook delivery on the real PostgreSQL and Redis, with a receiver on 127.0.0.1 and the name
 * resolution injected, so that a name can change its answer between the time the webhook was set and
 * the delivery (DNS rebinding).
 */
const prefix = uniqueTestPrefix('webhook');
const secret = 'whsec-0123456789abcdef';
const cipher = createWebhookSecretCipher(parseWebhookSecretKeys(`t1:${randomBytes(32).toString('base64')}`));
const logger = createLogger({ service: 'ingest-worker-test', level: 'silent' });
/** What each name resolves to right now; tests change it. */
const dns = new Map<string, string[]>();
const resolve = async (hostname: string) =>
  (dns.get(hostname) ?? []).map((address): ResolvedAddress => ({ address, family: 4 }));

let db: TestDatabase;
let redis: Redis;
let events: CompletionEvents;
let queue: Queue;
let receiver: Server;
let port: number;
const received: Array<{ host: string | undefined; valid: boolean }> = [];
let worker: Worker | undefined;

beforeAll(async () => {
  db = await createTestDatabase('webhook', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')");
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  events = createCompletionEvents({
    connection: redis,
    prefix,
    pool: db.pool,
    webhookAttempts: 1,
    webhookBackoffMs: 10,
  });
  queue = new Queue(webhookQueueName, { connection: redis, prefix });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const valid = verifyWebhookSignature(
        secret,
        {
          signature: req.headers[signatureHeader] as string,
          timestamp: req.headers[timestampHeader] as string,
        },
        Buffer.concat(chunks).toString('utf8'),
      );
      received.push({ host: req.headers.host, valid });
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  port = (receiver.address() as AddressInfo).port;
});

afterEach(async () => {
  await worker?.close();
  worker = undefined;
  received.length = 0;
  dns.clear();
});

afterAll(async () => {
  await events?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  redis?.disconnect();
  receiver?.close();
  await db?.drop();
});

function startWorker(targets: Omit<WebhookTargetPolicy, 'resolve'>) {
  worker = createWebhookDeliveryWorker({
    connection: redis,
    prefix,
    pool: db.pool,
    logger,
    timeoutMs: 5_000,
    targets: { ...targets, resolve },
    cipher,
  });
  void worker.run();
}

async function publishAndSettle(): Promise<Job> {
  const documentId = randomUUID();
  await events.publish({
    type: 'document.ready',
    tenantId: 'acme',
    collection: 'docs',
    collectionId: randomUUID(),
    documentId,
    externalId: null,
    version: 1,
    status: 'ready',
    chunks: 1,
    error: null,
  });
  const id = `${documentId}-v1-ready`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await queue.getJob(id);
    const state = await job?.getState();
    if (job && (state === 'completed' || state === 'failed')) return job;
    if (Date.now() > deadline) throw new Error(`webhook job ${id} still ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webhook delivery', () => {
  it('connects to the address it checked, whatever the system resolver says about the name', async () => {
    // `hooks.test` resolves nowhere in real DNS: only the pinned, checked address can be reached.
    dns.set('hooks.test', ['127.0.0.1']);
    await upsertWebhook(db.pool, 'acme', `http://hooks.test:${port}/in`, cipher.seal('acme', secret));
    startWorker({ allowedHosts: [], allowPrivate: true });
    const job = await publishAndSettle();
    expect(job.returnvalue).toBe('delivered 204');
    expect(received).toEqual([{ host: `hooks.test:${port}`, valid: true }]);
  });

  it('refuses to deliver when the name has come to resolve to a loopback address since it was set', async () => {
    const url = `https://user:pw@hooks.test:${port}/in?token=query-secret`;
    dns.set('hooks.test', ['93.184.216.34']);
    // What the gateway checked when the webhook was set.
    await expect(
      resolveWebhookTarget(url, { allowedHosts: [], allowPrivate: false, resolve }),
    ).resolves.toBeDefined();
    await upsertWebhook(db.pool, 'acme', url, cipher.seal('acme', secret));
    dns.set('hooks.test', ['127.0.0.1']);
    startWorker({ allowedHosts: [], allowPrivate: false });
    const job = await publishAndSettle();
    expect(await job.getState()).toBe('failed');
    expect(job.failedReason).toMatch(/hooks\.test resolves to 127\.0\.0\.1, a loopback address/);
    // Logged and stored without credentials or query.
    expect(job.failedReason).toContain(`https://hooks.test:${port}/in`);
    expect(job.failedReason).not.toMatch(/pw|query-secret/);
    expect(received).toEqual([]);
  });

  it('refuses a stored loopback literal even over https', async () => {
    await upsertWebhook(db.pool, 'acme', `https://127.0.0.1:${port}/in`, cipher.seal('acme', secret));
    startWorker({ allowedHosts: [], allowPrivate: false });
    const job = await publishAndSettle();
    expect(job.failedReason).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(received).toEqual([]);
  });
});
