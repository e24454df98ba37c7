#!/usr/bin/env node
// An upstream producer: puts one version 2 job on the ingest queue and waits for its completion event.
//
//   REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=rag \
//   node produce-ingest-job.mjs <tenant> <collection> <external-id> <text>
//
// On a Redis Cluster, set REDIS_CLUSTER=true as for the services: REDIS_URL then lists seed nodes
// (comma-separated) and the queues' prefix is the hash tag {rag}.
//
// It prints the event (document.ready or document.failed) as JSON and exits 0 when the document is ready.
// Any language with a BullMQ client (or plain Redis and the JSON Schema in ../schema) can do the same.
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';

const [tenantId, collection, externalId, text] = process.argv.slice(2);
if (!tenantId || !collection || !externalId || !text) {
  console.error('usage: produce-ingest-job.mjs <tenant> <collection> <external-id> <text>');
  process.exit(2);
}
const onCluster = process.env.REDIS_CLUSTER === 'true';
const keyPrefix = process.env.REDIS_KEY_PREFIX ?? 'rag';
// BullMQ's scripts touch several keys of a queue at once: on a cluster they must share one hash slot.
const prefix = onCluster ? `{${keyPrefix}}` : keyPrefix;
const timeoutMs = Number(process.env.WAIT_TIMEOUT_MS ?? 60_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connection = onCluster
  ? clusterConnection(redisUrl)
  : new Redis(redisUrl, { maxRetriesPerRequest: null });

/** The seeds' hosts and ports, with the first seed's credentials and TLS for every node. */
function clusterConnection(urls) {
  const seeds = urls.split(',').map((url) => new URL(url.trim()));
  const first = seeds[0];
  return new Cluster(
    seeds.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) })),
    {
      redisOptions: {
        maxRetriesPerRequest: null,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

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
