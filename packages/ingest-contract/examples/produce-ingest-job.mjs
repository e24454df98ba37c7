#!/usr/bin/env node
// An upstream producer: puts one version 2 job on the ingest queue and waits for its completion event.
//
//   REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=rag \
//   node produce-ingest-job.mjs <tenant> <collection> <external-id> <text>
//
// It prints the event (document.ready or document.failed) as JSON and exits 0 when the document is ready.
// Any language with a BullMQ client (or plain Redis and the JSON Schema in ../schema) can do the same.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [tenantId, collection, externalId, text] = process.argv.slice(2);
if (!tenantId || !collection || !externalId || !text) {
  console.error('usage: produce-ingest-job.mjs <tenant> <collection> <external-id> <text>');
  process.exit(2);
}
const prefix = process.env.REDIS_KEY_PREFIX ?? 'rag';
const timeoutMs = Number(process.env.WAIT_TIMEOUT_MS ?? 60_000);
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});

const job = {
  v: 2,
  type: 'ingest',
  tenantId,
  collection,
  externalId,
  title: externalId,
  metadata: { source: 'example-producer' },
  content: { kind: 'inline', text, mediaType: 'text/plain' },
};

// Events are consumed like any BullMQ queue; start listening before producing so none is missed.
// (Several consumers of the same events would each need their own queue or a fan-out of their own.)
let settle;
const outcome = new Promise((resolve) => {
  settle = resolve;
});
const events = new Worker(
  'ingest-events',
  async (eventJob) => {
    const event = eventJob.data;
    if (event.tenantId === tenantId && event.externalId === externalId) settle(event);
  },
  { connection, prefix },
);

const queue = new Queue('ingest', { connection, prefix });
// Transient failures (embedding service, Milvus, storage down) are retried with exponential backoff and
// jitter; an invalid job fails at once into the queue "ingest-dead-letter".
await queue.add('ingest', job, {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
});
console.error(`queued ${externalId}; waiting for its completion event`);

const timer = setTimeout(
  () => settle({ type: 'timeout', error: `no event within ${timeoutMs} ms` }),
  timeoutMs,
);
const event = await outcome;
clearTimeout(timer);
console.log(JSON.stringify(event));
await events.close();
await queue.close();
connection.disconnect();
process.exit(event.type === 'document.ready' ? 0 : 1);
