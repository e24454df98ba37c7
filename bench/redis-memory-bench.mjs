// `pnpm bench:redis-memory`: what Redis holds for ingestion when many large documents arrive at once.
//
// Starts a private stack (the generated tiny model), then posts --documents JSON documents of --kb KB of text
// each through POST /v1/collections/{name}/documents as fast as --concurrency clients can, and measures the
// bytes Redis holds under the stack's key prefix (the sum of MEMORY USAGE of its keys) before, right after
// the last document was accepted (the backlog at its largest: the worker is still busy with the first ones),
// and after --settle seconds. The text itself must not be in Redis: documents above the inline limit go to
// object storage and their jobs carry a key. The last line is key=value pairs with the peak, the bytes per
// accepted document and the ratio of Redis bytes to the text sent.
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startPrivateStack } from './private-stack.mjs';

const { values: args } = parseArgs({
  options: {
    documents: { type: 'string', default: '2000' },
    kb: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    settle: { type: 'string', default: '30' },
  },
});
const count = Number(args.documents);
const bytesPerDocument = Number(args.kb) * 1024;
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

const words =
  'budget travel policy office security invoice contract vendor network backup release audit'.split(' ');
function text(seed) {
  const parts = [];
  let length = 0;
  for (let i = 0; length < bytesPerDocument; i++) {
    const word = words[(seed * 7 + i * 13) % words.length];
    parts.push(word);
    length += word.length + 1;
  }
  return `${seed} ${parts.join(' ')}`.slice(0, bytesPerDocument);
}

async function redisBytes(redis, prefix) {
  let total = 0;
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      total += (await redis.memory('USAGE', key, 'SAMPLES', '0')) ?? 0;
      keys++;
    }
  } while (cursor !== '0');
  return { total, keys };
}

const stack = await startPrivateStack({ namePrefix: 'benchredis', storageRoot: true, log });
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
try {
  // private-stack names the Redis prefix like the schema.
  const prefix = stack.schema;
  const headers = { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' };
  await fetch(`${stack.gatewayUrl}/v1/collections`, { method: 'POST', headers, body: '{"name":"big"}' });
  const before = await redisBytes(redis, prefix);
  log(`posting ${count} documents of ${args.kb} KB`);
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(args.concurrency) }, async () => {
      for (let i = next++; i < count; i = next++) {
        for (;;) {
          const response = await fetch(`${stack.gatewayUrl}/v1/collections/big/documents`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ external_id: `doc-${i}`, text: text(i) }),
          });
          await response.arrayBuffer();
          if (response.status === 202 || response.status === 200) {
            accepted++;
            break;
          }
          if (response.status !== 429 && response.status !== 503)
            throw new Error(`document ${i}: ${response.status}`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = await redisBytes(redis, prefix);
  log(`accepted ${accepted} in ${seconds.toFixed(1)} s; settling ${args.settle} s`);
  await new Promise((resolve) => setTimeout(resolve, Number(args.settle) * 1000));
  const settled = await redisBytes(redis, prefix);
  const sent = count * bytesPerDocument;
  const mb = (bytes) => (bytes / 1024 / 1024).toFixed(2);
  console.log('| moment | keys | Redis MB |');
  console.log('| --- | --- | --- |');
  console.log(`| before | ${before.keys} | ${mb(before.total)} |`);
  console.log(`| all ${count} accepted (largest backlog) | ${peak.keys} | ${mb(peak.total)} |`);
  console.log(`| ${args.settle} s later | ${settled.keys} | ${mb(settled.total)} |`);
  console.log(
    `documents=${count} text_mb=${mb(sent)} redis_peak_mb=${mb(peak.total)} ` +
      `redis_bytes_per_document=${Math.round((peak.total - before.total) / count)} ` +
      `redis_to_text_ratio=${((peak.total - before.total) / sent).toFixed(5)}`,
  );
} finally {
  redis.disconnect();
  await stack.stop();
}
