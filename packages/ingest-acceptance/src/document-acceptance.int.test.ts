import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '@rag/contracts/app-error';
import { insertCollection } from '@rag/db/collection-repository';
import { findDocument, transitionDocument } from '@rag/db/document-repository';
import { migrate } from '@rag/db/migrate';
import { insertTenant } from '@rag/db/tenant-repository';
import { type IngestJob, ingestJobId, ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { createLocalStorage } from '@rag/storage/local-storage';
import { freePort } from '@rag/testing/free-port';
import { createTestDatabase, type TestDatabase, uniqueTestPrefix } from '@rag/testing/test-database';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptDocument, type DocumentSubmission } from './document-acceptance.js';
import { acceptAndQueue, type JobQueue, queueUnavailableReason } from './queued-acceptance.js';

/**
 * Accepting a document on the real PostgreSQL, local object storage and a BullMQ queue on the real Redis; the
 * queue outage is a client whose Redis does not answer.
 */
const prefix = uniqueTestPrefix('accept');
const storageRoot = `/tmp/${prefix}-storage`;
const storage = createLocalStorage({ root: storageRoot });
let db: TestDatabase;
let redis: Redis;
let downRedis: Redis;
let jobs: Queue;
let downJobs: Queue;
let queue: JobQueue;
let queueDown: JobQueue;
let collection: { id: string; name: string };

/** What the gateway's queue does: one job id per action, an outage as a dependency error. */
function bullQueue(target: Queue): JobQueue {
  return {
    async enqueue(job) {
      try {
        await target.add(job.type, job, { jobId: ingestJobId(job as IngestJob) });
      } catch (error) {
        throw new AppError('dependency_unavailable', 'The ingest queue (Redis) is unavailable', {
          cause: error,
        });
      }
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase('accept', migrate);
  await insertTenant(db.pool, 'acme', 'Acme');
  collection = (await insertCollection(db.pool, 'acme', 'handbook'))!;
  redis = new Redis('redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
  jobs = new Queue(ingestQueueName, { connection: redis, prefix });
  queue = bullQueue(jobs);
  downRedis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  downRedis.on('error', () => {});
  downJobs = new Queue(ingestQueueName, { connection: downRedis, prefix });
  downJobs.on('error', () => {});
  queueDown = bullQueue(downJobs);
});

afterAll(async () => {
  await jobs?.obliterate({ force: true });
  await jobs?.close();
  await downJobs?.close().catch(() => {});
  redis?.disconnect();
  downRedis?.disconnect();
  await db?.drop();
  await rm(storageRoot, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const textContent = (text: string) => ({ kind: 'text' as const, text, mediaType: 'text/plain' });

function submission(
  externalId: string,
  text: string,
  more: Partial<Omit<DocumentSubmission, 'content'>> = {},
): Omit<DocumentSubmission, 'collectionId'> {
  return {
    tenantId: 'acme',
    externalId,
    title: null,
    metadata: {},
    acl: null,
    content: textContent(text),
    ...more,
  };
}

async function putFile(key: string, text: string) {
  await storage.put(key, Readable.from([Buffer.from(text)]), { size: Buffer.byteLength(text) });
  return { kind: 'stored' as const, key, contentHash: sha256(text), mediaType: null, filename: 'a.txt' };
}

const exists = (key: string) =>
  readFile(join(storageRoot, ...key.split('/'))).then(
    () => true,
    () => false,
  );

async function queued(documentId: string, version: number) {
  return (await jobs.getJob(`ingest-${documentId}-v${version}`))?.data;
}

describe('acceptDocument', () => {
  it('decides by content hash: new, the same, other fields in place, the next version', async () => {
    const deps = { pool: db.pool, storage };
    const at = { ...submission('policy-1', 'Book flights early.'), collectionId: collection.id };
    const created = await acceptDocument(deps, at);
    expect(created).toMatchObject({
      outcome: 'created',
      document: { version: 1, status: 'queued', contentHash: sha256('Book flights early.'), sourceKey: null },
    });
    expect(await acceptDocument(deps, at)).toMatchObject({ outcome: 'unchanged', document: { version: 1 } });
    expect(await acceptDocument(deps, { ...at, title: 'Travel', acl: [] })).toMatchObject({
      outcome: 'fields-updated',
      changed: ['title'],
      previous: { title: null, metadata: {}, acl: null },
      document: { version: 1, title: 'Travel' },
    });
    const next = await acceptDocument(deps, { ...at, content: textContent('Book trains.') });
    expect(next).toMatchObject({ outcome: 'new-version', document: { id: created.document.id, version: 2 } });
  });

  it("removes an upload of content the document has and the predecessor's file, never a producer's object", async () => {
    const deps = { pool: db.pool, storage };
    const first = await putFile('uploads/acme/1/a.txt', 'First report.');
    const at = {
      ...submission('report', ''),
      collectionId: collection.id,
      content: { ...first, upload: true },
    };
    const created = await acceptDocument(deps, at);
    expect(created.document.sourceKey).toBe(first.key);

    const again = await putFile('uploads/acme/2/a.txt', 'First report.');
    expect(await acceptDocument(deps, { ...at, content: { ...again, upload: true } })).toMatchObject({
      outcome: 'unchanged',
      document: { sourceKey: first.key },
    });
    expect(await exists(again.key)).toBe(false);
    // An upstream producer's object with the same content stays where the producer put it.
    const producers = await putFile('producer/a.txt', 'First report.');
    expect((await acceptDocument(deps, { ...at, content: { ...producers, upload: false } })).outcome).toBe(
      'unchanged',
    );
    expect(await exists(producers.key)).toBe(true);

    const second = await putFile('uploads/acme/3/a.txt', 'Second report.');
    const next = await acceptDocument(deps, { ...at, content: { ...second, upload: true } });
    expect(next).toMatchObject({ outcome: 'new-version', document: { version: 2, sourceKey: second.key } });
    expect(await exists(first.key)).toBe(false);
    expect(await exists(second.key)).toBe(true);
  });

  it('makes an upload the source of a failed document whose text had no stored copy', async () => {
    const deps = { pool: db.pool, storage };
    const at = { ...submission('retried', 'Same bytes.'), collectionId: collection.id };
    const { document } = await acceptDocument(deps, at);
    await transitionDocument(db.pool, document.id, 1, ['queued'], { status: 'failed', error: 'x' });
    const upload = await putFile('uploads/acme/4/a.txt', 'Same bytes.');
    expect(await acceptDocument(deps, { ...at, content: { ...upload, upload: true } })).toMatchObject({
      outcome: 'unchanged',
      document: { sourceKey: upload.key },
    });
    expect(await exists(upload.key)).toBe(true);
    expect((await findDocument(db.pool, 'acme', document.id))?.sourceKey).toBe(upload.key);
  });

  it('never touches a document the sender may not see, and refuses an id that does not exist', async () => {
    const deps = { pool: db.pool, storage };
    const at = { ...submission('secret', 'Salaries.', { acl: ['group:hr'] }), collectionId: collection.id };
    const { document } = await acceptDocument(deps, at);
    const other = { ...at, content: textContent('Other text.'), canSee: () => false };
    await expect(acceptDocument(deps, other)).rejects.toMatchObject({ code: 'conflict' });
    expect(await findDocument(db.pool, 'acme', document.id)).toMatchObject({ version: 1, acl: ['group:hr'] });
    await expect(
      acceptDocument(deps, { ...at, externalId: null, documentId: '00000000-0000-4000-8000-000000000001' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('acceptAndQueue', () => {
  it("queues a version's build as the document's id and version, with short text and nothing else", async () => {
    const deps = { pool: db.pool, storage, queue };
    const accepted = await acceptAndQueue(deps, collection, submission('short', 'A short note.'));
    expect(accepted).toMatchObject({ status: 202, document: { version: 1, status: 'queued' } });
    const { id } = accepted.document;
    expect(await queued(id, 1)).toEqual({
      v: 2,
      type: 'ingest-version',
      tenantId: 'acme',
      documentId: id,
      version: 1,
      text: 'A short note.',
    });
  });

  it("stores text too long for a job under its version's own key, and the job carries none of it", async () => {
    const deps = { pool: db.pool, storage, queue };
    const text = `${'A long report about the harbour. '.repeat(3000)}The end.`;
    const { document } = await acceptAndQueue(deps, collection, submission('long', text));
    const key = `documents/acme/${document.id}/v1/document.txt`;
    expect(await readFile(join(storageRoot, ...key.split('/')), 'utf8')).toBe(text);
    expect((await findDocument(db.pool, 'acme', document.id))?.sourceKey).toBe(key);
    expect(await queued(document.id, 1)).toEqual({
      v: 2,
      type: 'ingest-version',
      tenantId: 'acme',
      documentId: document.id,
      version: 1,
    });
  });

  it('answers the same content with 200 and no job; other fields queue the rows update; a failed one is retried', async () => {
    const deps = { pool: db.pool, storage, queue };
    const at = submission('same', 'Unchanged words.');
    const { document } = await acceptAndQueue(deps, collection, at);
    await jobs.obliterate({ force: true });
    expect(await acceptAndQueue(deps, collection, at)).toMatchObject({
      status: 200,
      document: { version: 1 },
    });
    expect(await jobs.getJobCounts('waiting')).toMatchObject({ waiting: 0 });

    const renamed = await acceptAndQueue(deps, collection, { ...at, title: 'Named' });
    expect(renamed).toMatchObject({ status: 200, fieldsUpdated: ['title'] });
    const [update] = await jobs.getJobs(['waiting']);
    expect(update?.data).toMatchObject({
      v: 2,
      type: 'update-fields',
      collection: 'handbook',
      documentId: document.id,
      titleChanged: true,
    });

    await transitionDocument(db.pool, document.id, 1, ['queued'], { status: 'failed', error: 'x' });
    const retried = await acceptAndQueue(deps, collection, { ...at, title: 'Named' });
    expect(retried).toMatchObject({ status: 202, document: { status: 'queued', version: 1 } });
    expect(await findDocument(db.pool, 'acme', document.id)).toMatchObject({ status: 'queued', error: null });
    expect(await queued(document.id, 1)).toMatchObject({ type: 'ingest-version', text: 'Unchanged words.' });
  });

  it('takes the acceptance back when the queue is down: a new row goes, a new version fails, fields return', async () => {
    const deps = { pool: db.pool, storage, queue };
    const down = { ...deps, queue: queueDown };
    const upload = await putFile('uploads/acme/5/a.txt', 'Never queued.');
    const fresh = { ...submission('fresh', ''), content: { ...upload, upload: true } };
    await expect(acceptAndQueue(down, collection, fresh)).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
    const rows = await db.pool.query("SELECT id FROM documents WHERE external_id = 'fresh'");
    expect(rows.rowCount).toBe(0);
    expect(await exists(upload.key)).toBe(false);

    const at = submission('outage', 'Version one.');
    const { document } = await acceptAndQueue(deps, collection, at);
    await expect(
      acceptAndQueue(down, collection, { ...at, content: textContent('Version two.') }),
    ).rejects.toMatchObject({ code: 'dependency_unavailable' });
    expect(await findDocument(db.pool, 'acme', document.id)).toMatchObject({
      version: 2,
      status: 'failed',
      error: queueUnavailableReason,
    });

    await expect(
      acceptAndQueue(down, collection, {
        ...at,
        title: 'Renamed',
        content: textContent('Version two.'),
      }),
    ).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
    expect((await findDocument(db.pool, 'acme', document.id))?.title).toBeNull();
  });
});
