import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ingestEventsQueueName } from '@rag/ingest-contract/ingest-event';
import { deadLetterQueueName, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { verifyWebhookSignature } from '@rag/ingest-contract/webhook-signature';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import type { MilvusStore } from '@rag/vector-store/milvus-store';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkRows, collectionId, openVectorStore, upload, vectorChunkIds } from './ingest-support.js';
import { type Stack, startStack } from './stack.js';

/**
 * The ingestion pipeline end to end, through the public API and the upstream queue: uploads of real files,
 * versions, batches, deletes, the dead-letter queue, completion events and signed webhooks, on the real
 * PostgreSQL, Redis, Milvus Lite, ONNX Runtime and local object storage.
 */

const docs = '/work/shared/data/docs';
const repoRoot = findRepoRoot();
let stack: Stack;
let modelDir: string;
let store: MilvusStore;
let redis: Redis;
let handbook: string;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    // The webhook receiver of these tests listens on 127.0.0.1 over http: an operator's own receiver.
    gatewayEnv: {
      INGEST_BACKOFF_MS: '200',
      MAX_UPLOAD_BYTES: String(2 * 1024 * 1024),
      WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    workerEnv: { WEBHOOK_BACKOFF_MS: '200', CHUNK_OVERLAP_TOKENS: '8', WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  store = await openVectorStore(stack);
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  expect((await stack.call('POST', '/v1/collections', { body: { name: 'handbook' } })).status).toBe(201);
  handbook = await collectionId(stack, 'default', 'handbook');
});

afterAll(async () => {
  await store?.close();
  redis?.disconnect();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

const scope = () => ({ tenantId: 'default', collectionId: handbook });

async function addText(externalId: string, text: string, extra: Record<string, unknown> = {}) {
  return stack.call('POST', '/v1/collections/handbook/documents', {
    body: { external_id: externalId, text, ...extra },
  });
}

/** The document is ready, PostgreSQL and Milvus hold the same chunk ids, and all are of its ready version. */
async function expectConsistent(documentId: string) {
  const document = await stack.waitForStatus(documentId, undefined, ['ready']);
  const rows = await chunkRows(stack, documentId);
  expect(rows.length).toBe(document.chunks);
  expect(new Set(rows.map((r) => r.document_version))).toEqual(new Set([document.ready_version]));
  expect(await vectorChunkIds(store, scope(), documentId)).toEqual(rows.map((r) => r.id).sort());
  return { document, rows };
}

/** Search results carry each chunk's place in its document (page, heading path, offsets), as PostgreSQL keeps it. */
async function expectLocationsInResults(
  documentId: string,
  query: string,
  rows: Awaited<ReturnType<typeof chunkRows>>,
) {
  const answer = await stack.call('POST', '/v1/search', {
    body: { collection: 'handbook', query, mode: 'bm25', top_k: 50 },
  });
  expect(answer.status).toBe(200);
  const hits = answer.body.results.filter((r: { document_id: string }) => r.document_id === documentId);
  expect(hits.length).toBeGreaterThan(0);
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const hit of hits) {
    const row = byId.get(hit.chunk_id)!;
    expect(hit).toMatchObject({
      page: row.page,
      heading_path: row.heading_path,
      start_offset: row.start_offset,
      end_offset: row.end_offset,
    });
  }
  return hits;
}

describe('file upload', () => {
  it('indexes an uploaded PDF with its pages, detected from the content whatever the name says', async () => {
    const bytes = await readFile(join(docs, 'pdf/en_markitdown_test.pdf'));
    const answer = await upload(stack, 'handbook', { name: 'paper.bin', bytes }, { external_id: 'paper' });
    expect(answer.status).toBe(202);
    const { document, rows } = await expectConsistent(answer.body.id);
    expect(document).toMatchObject({ media_type: 'application/pdf', filename: 'paper.bin', version: 1 });
    expect(document.page_count).toBeGreaterThan(0);
    expect(rows.every((r) => r.page !== null && r.page >= 1)).toBe(true);
    expect(rows.map((r) => r.text).join(' ')).toMatch(/AutoGen/);
    const hits = await expectLocationsInResults(answer.body.id, 'AutoGen multi-agent conversation', rows);
    expect(hits.every((hit: { page: number | null }) => hit.page !== null && hit.page >= 1)).toBe(true);
  });

  it('keeps the heading path of each Markdown chunk', async () => {
    const bytes = await readFile(join(docs, 'md/ja_nihonkoku-kenpo.md'));
    const answer = await upload(stack, 'handbook', { name: 'kenpo.md', bytes, type: 'text/markdown' });
    expect(answer.status).toBe(202);
    const { rows } = await expectConsistent(answer.body.id);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.some((r) => r.heading_path.join(' / ').includes('第一条'))).toBe(true);
    for (const row of rows) expect(row.end_offset).toBeGreaterThan(row.start_offset);
    const hits = await expectLocationsInResults(answer.body.id, '第一条 天皇', rows);
    expect(hits.some((hit: { heading_path: string[] }) => hit.heading_path.length > 0)).toBe(true);
  });

  it('titles an uploaded file with its own title, else its file name, unless the caller sent one', async () => {
    const docx = await readFile(join(docs, 'docx/en_markitdown_test.docx'));
    const docxTitle = 'AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation';
    const own = await upload(
      stack,
      'handbook',
      { name: 'autogen.docx', bytes: docx },
      { external_id: 'own' },
    );
    const named = await upload(
      stack,
      'handbook',
      { name: 'meeting-notes.txt', bytes: new TextEncoder().encode('Zanzibar offsite agenda: budgets.') },
      { external_id: 'named' },
    );
    const chosen = await upload(
      stack,
      'handbook',
      { name: 'autogen-copy.docx', bytes: docx },
      { external_id: 'chosen', title: 'Agents paper (copy)' },
    );
    const expected = new Map([
      [own.body.id, docxTitle],
      [named.body.id, 'meeting-notes.txt'],
      [chosen.body.id, 'Agents paper (copy)'],
    ]);
    for (const [id, title] of expected) {
      const { document } = await expectConsistent(id);
      expect(document.title).toBe(title);
    }
    // Search results show the same titles.
    for (const query of ['AutoGen multi-agent conversation', 'Zanzibar offsite agenda']) {
      const answer = await stack.call('POST', '/v1/search', {
        body: { collection: 'handbook', query, mode: 'bm25', top_k: 50 },
      });
      expect(answer.status).toBe(200);
      for (const hit of answer.body.results as { document_id: string; title: string | null }[])
        if (expected.has(hit.document_id)) expect(hit.title).toBe(expected.get(hit.document_id));
    }
  });

  it('refuses a file over the upload limit with 413 and stores nothing', async () => {
    const before = await stack.db.query('SELECT count(*)::int AS n FROM documents');
    const answer = await upload(stack, 'handbook', {
      name: 'big.txt',
      bytes: new Uint8Array(3 * 1024 * 1024).fill(97),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.detail).toMatch(/over the upload limit of 2097152 bytes/);
    const after = await stack.db.query('SELECT count(*)::int AS n FROM documents');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('answers an upload without a file part, or with bad fields, with the problem named', async () => {
    const form = new FormData();
    form.set('document', '{"external_id": "x"}');
    const response = await fetch(`${stack.services.at(-1)!.url}/v1/collections/handbook/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}` },
      body: form,
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/no "file" part/);
    const badFields = await upload(
      stack,
      'handbook',
      { name: 'a.txt', bytes: Buffer.from('Some text.') },
      { colour: 'red' },
    );
    expect(badFields.status).toBe(422);
    expect(badFields.body.detail).toMatch(/colour/);
  });
});

describe('versions', () => {
  it('treats the same content again as a no-op and other content as the next version', async () => {
    const first = await addText('policy', 'Travel: book flights through the travel tool.');
    expect(first.status).toBe(202);
    const v1 = await expectConsistent(first.body.id);

    const again = await addText('policy', 'Travel: book flights through the travel tool.');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, version: 1, status: 'ready' });
    const jobs = await new Queue(ingestQueueName, { connection: redis, prefix: stack.redisPrefix }).getJob(
      `ingest-${first.body.id}-v2`,
    );
    expect(jobs).toBeUndefined();

    const second = await addText('policy', 'Travel: book trains first, flights only over 800 km.');
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ id: first.body.id, version: 2 });
    const v2 = await expectConsistent(first.body.id);
    expect(v2.document).toMatchObject({ version: 2, ready_version: 2 });
    // The old version's chunks left both stores.
    const v1Ids = new Set(v1.rows.map((r) => r.id));
    expect(v2.rows.some((r) => v1Ids.has(r.id))).toBe(false);
  });
});

describe('batch ingest', () => {
  it('gives each document its own result', async () => {
    await addText('batch-known', 'A document that is already there.');
    const answer = await stack.call('POST', '/v1/collections/handbook/documents/batch', {
      body: {
        documents: [
          { external_id: 'batch-1', text: 'First document of the batch.' },
          { external_id: 'batch-known', text: 'A document that is already there.' },
          { external_id: 'batch-2', text: '   ' },
          {
            external_id: 'batch-3',
            title: 'Markdown',
            text: '# Title\n\nBody of the third.',
            media_type: 'text/markdown',
          },
          'not an object',
        ],
      },
    });
    expect(answer.status).toBe(200);
    const statuses = answer.body.results.map((r: { status: number }) => r.status);
    expect(statuses).toEqual([202, 200, 422, 202, 422]);
    expect(answer.body).toMatchObject({ accepted: 2, unchanged: 1, rejected: 2 });
    expect(answer.body.results[2].detail).toMatch(/text must not be empty/);
    await expectConsistent(answer.body.results[0].id);
    await expectConsistent(answer.body.results[3].id);
  });

  it('refuses a batch that is not a list of documents', async () => {
    const answer = await stack.call('POST', '/v1/collections/handbook/documents/batch', {
      body: { documents: [] },
    });
    expect(answer.status).toBe(422);
  });
});

describe('delete', () => {
  it('removes the rows, the vectors and the stored file', async () => {
    const answer = await upload(stack, 'handbook', {
      name: 'notes.txt',
      bytes: Buffer.from('Notes to delete later.'),
    });
    await expectConsistent(answer.body.id);
    const { rows } = await stack.db.query('SELECT source_key FROM documents WHERE id = $1', [answer.body.id]);
    const file = join(stack.storageRoot, ...rows[0].source_key.split('/'));
    expect(existsSync(file)).toBe(true);

    expect((await stack.call('DELETE', `/v1/documents/${answer.body.id}`)).status).toBe(202);
    await stack.waitForStatus(answer.body.id, undefined, ['gone']);
    expect(await chunkRows(stack, answer.body.id)).toEqual([]);
    expect(await vectorChunkIds(store, scope(), answer.body.id)).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });
});

describe('malformed input', () => {
  it('fails each bad document with its reason and leaves the others as they were', async () => {
    const good = await addText('untouched', 'A healthy document that must stay as it is.');
    const { document: before } = await expectConsistent(good.body.id);
    const bad = [
      {
        name: 'random.bin',
        bytes: Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251),
        reason: /unsupported|media type|binary/i,
      },
      { name: 'broken.pdf', bytes: Buffer.from('%PDF-1.7\nthis is not really a pdf'), reason: /pdf/i },
      { name: 'broken.docx', bytes: Buffer.from('PK\u0003\u0004 truncated zip'), reason: /.+/ },
    ];
    for (const file of bad) {
      const answer = await upload(stack, 'handbook', file);
      expect(answer.status).toBe(202);
      const failed = await stack.waitForStatus(answer.body.id, undefined, ['failed']);
      expect(failed.error).toMatch(file.reason);
    }
    const { document: after } = await expectConsistent(good.body.id);
    expect(after).toEqual(before);
  });
});

describe('upstream queue', () => {
  it('runs the example producer: a version 2 job becomes a ready document and its event comes back', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'packages/ingest-contract/examples/produce-ingest-job.mjs'),
        'default',
        'handbook',
        'from-upstream',
        'Pushed by an upstream system.',
      ],
      { env: { ...process.env, REDIS_KEY_PREFIX: stack.redisPrefix, WAIT_TIMEOUT_MS: '60000' } },
    );
    const event = JSON.parse(stdout);
    expect(event).toMatchObject({
      type: 'document.ready',
      externalId: 'from-upstream',
      collection: 'handbook',
      version: 1,
    });
    await expectConsistent(event.documentId);
  });

  it('ingests a file an upstream system put into storage, and deletes it again by its external id', async () => {
    const key = 'upstream/acme-crm/contract-9.md';
    const file = join(stack.storageRoot, ...key.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, '# Contract 9\n\n## Terms\n\nPayment within thirty days of the invoice date.\n');
    const queue = new Queue(ingestQueueName, { connection: redis, prefix: stack.redisPrefix });
    try {
      await queue.add('ingest', {
        v: 2,
        type: 'ingest',
        tenantId: 'default',
        collection: 'handbook',
        externalId: 'contract-9',
        content: { kind: 'storage', key, filename: 'contract-9.md' },
      });
      let id: string | undefined;
      for (let i = 0; i < 300 && !id; i++) {
        const { rows } = await stack.db.query("SELECT id FROM documents WHERE external_id = 'contract-9'");
        id = rows[0]?.id;
        if (!id) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { document, rows } = await expectConsistent(id!);
      expect(document).toMatchObject({ media_type: 'text/markdown', filename: 'contract-9.md' });
      expect(rows.some((r) => r.heading_path.includes('Terms'))).toBe(true);

      await queue.add('delete', {
        v: 2,
        type: 'delete',
        tenantId: 'default',
        collection: 'handbook',
        externalId: 'contract-9',
      });
      await stack.waitForStatus(id!, undefined, ['gone']);
      expect(await vectorChunkIds(store, scope(), id!)).toEqual([]);
      expect(existsSync(file)).toBe(false);
    } finally {
      await queue.close();
    }
  });

  it('sends an invalid job to the dead-letter queue at once, with the reason', async () => {
    const queue = new Queue(ingestQueueName, { connection: redis, prefix: stack.redisPrefix });
    const deadLetters = new Queue(deadLetterQueueName, { connection: redis, prefix: stack.redisPrefix });
    try {
      const job = await queue.add(
        'ingest',
        {
          v: 2,
          type: 'ingest',
          tenantId: 'default',
          collection: 'handbook',
          externalId: 'bad-job',
          content: { kind: 'storage', key: '../../etc/passwd' },
        },
        { attempts: 5 },
      );
      let letter: Record<string, unknown> | undefined;
      for (let i = 0; i < 200 && !letter; i++) {
        letter = (await deadLetters.getJob(`dead-${job.id}`))?.data;
        if (!letter) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(letter).toMatchObject({ jobId: job.id, attemptsMade: 1, data: { externalId: 'bad-job' } });
      expect(letter?.reason).toMatch(/^Invalid ingest job: content\.key:/);
      // The dead letter is written just before the job fails; then it fails without a retry.
      for (let i = 0; i < 100 && (await job.getState()) !== 'failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await queue.getJob(job.id!))?.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await deadLetters.close();
    }
  });
});

describe('completion events', () => {
  let receiver: Server;
  const deliveries: Array<{ valid: boolean; event: Record<string, unknown> }> = [];
  let calls = 0;

  beforeAll(async () => {
    const secret = 'whsec-0123456789abcdef';
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        calls += 1;
        // The first delivery meets a failing receiver and must be retried.
        if (calls === 1) {
          res.writeHead(500).end();
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const valid = verifyWebhookSignature(
          secret,
          {
            signature: req.headers['x-rag-signature'] as string,
            timestamp: req.headers['x-rag-timestamp'] as string,
          },
          raw,
        );
        deliveries.push({ valid, event: JSON.parse(raw) });
        res.writeHead(valid ? 204 : 401).end();
      });
    });
    const port = await freePort();
    receiver.listen(port, '127.0.0.1');
    await once(receiver, 'listening');
    const set = await stack.call('POST', '/v1/webhook', {
      body: { url: `http://127.0.0.1:${port}/hook`, secret },
    });
    expect(set.status).toBe(200);
    expect(set.body).not.toHaveProperty('secret');
  });

  afterAll(async () => {
    receiver?.close();
  });

  it('delivers a signed webhook for ready and failed documents, retrying after a 500', async () => {
    const ready = await addText('evented', 'A document whose completion is announced.');
    const failed = await upload(stack, 'handbook', {
      name: 'bad.pdf',
      bytes: Buffer.from('%PDF-1.4 nothing'),
    });
    await stack.waitForStatus(ready.body.id, undefined, ['ready']);
    await stack.waitForStatus(failed.body.id, undefined, ['failed']);
    for (let i = 0; i < 300 && deliveries.length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(deliveries.every((d) => d.valid)).toBe(true);
    const byDocument = new Map(deliveries.map((d) => [d.event.documentId, d.event]));
    expect(byDocument.get(ready.body.id)).toMatchObject({
      type: 'document.ready',
      status: 'ready',
      version: 1,
      externalId: 'evented',
    });
    expect(byDocument.get(failed.body.id)).toMatchObject({ type: 'document.failed', status: 'failed' });
    expect(byDocument.get(failed.body.id)?.error).toEqual(expect.any(String));

    const events = new Queue(ingestEventsQueueName, { connection: redis, prefix: stack.redisPrefix });
    try {
      const job = await events.getJob(`${ready.body.id}-v1-ready`);
      expect(job?.name).toBe('document.ready');
    } finally {
      await events.close();
    }
  });

  it('refuses a webhook with a short secret or a URL that is not http(s)', async () => {
    const short = await stack.call('POST', '/v1/webhook', {
      body: { url: 'http://127.0.0.1:1/x', secret: 'short' },
    });
    expect(short.status).toBe(422);
    const ftp = await stack.call('POST', '/v1/webhook', {
      body: { url: 'ftp://example.com/x', secret: 'x'.repeat(20) },
    });
    expect(ftp.status).toBe(422);
  });
});
