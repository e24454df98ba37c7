import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { type ServiceProcess, startService } from '@rag/testing/service-process';
import { createMilvusStore, type MilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionId } from './ingest-support.js';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * Collections on two embedding models side by side (two embedding services: the generated 32-dimension model
 * and multilingual-e5-small, 4-bit, 384 dimensions), and a collection of 300 documents moved from the generated
 * model to e5 while clients search, ingest and delete: every search answers, each answer from one model, the
 * new model's after the switch, PostgreSQL and the new index agree (doctor), and the old model's vectors of the
 * collection are gone after the grace period. A worker killed in the middle of a move carries on where it
 * stopped. A move to a model with a shorter input (a third service: a generated model of 64 tokens) cuts the
 * documents again from their text: the old chunks serve until the switch, the new ones after, no text lost.
 */

const repoRoot = findRepoRoot();
const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const e5Dir = join(sharedDir, 'models', 'multilingual-e5-small-q4');
const e5Manifest = join(repoRoot, 'packages', 'models', 'manifests', 'multilingual-e5-small.json');
const keepOldSeconds = 4;
const shortMaxLength = 64;
let stack: Stack;
let modelDir: string;
let shortModelDir: string;
let secondService: ServiceProcess | undefined;
let shortService: ServiceProcess | undefined;
let secondPort: number;
let shortPort: number;
type ServedModel = { name: string; dim: number; maxLength: number; outputs: { sparse: boolean } };
let firstModel: ServedModel;
let secondModel: ServedModel;
let shortModel: ServedModel;
const stores: MilvusStore[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function modelOf(url: string) {
  const answer = await fetch(`${url}/v1/model`, { headers: { 'x-service-token': stack.serviceToken } });
  return (await answer.json()) as ServedModel;
}

/** Token ids of texts by a model service's tokenizer. */
async function tokenize(url: string, inputs: string[], specials = false): Promise<number[][]> {
  const answer = await fetch(`${url}/v1/tokenize`, {
    method: 'POST',
    headers: { 'x-service-token': stack.serviceToken, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs, add_special_tokens: specials }),
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { data: Array<{ ids: number[] }> }).data.map((item) => item.ids);
}

/** The stack's Milvus collection of a model's space, as the services name it. */
function spaceStore(model: ServedModel): MilvusStore {
  const store = createMilvusStore({
    address: stack.milvus.address,
    collectionPrefix: stack.milvusPrefix,
    space: { model: model.name, dim: model.dim, hasSparse: model.outputs.sparse },
  });
  stores.push(store);
  return store;
}

async function vectorCount(store: MilvusStore, tenantId: string, collection: string): Promise<number> {
  await store.ensureReady();
  const scope = { tenantId, collectionId: await collectionId(stack, tenantId, collection) };
  let count = 0;
  for await (const batch of store.listChunks(scope)) count += batch.length;
  return count;
}

async function doctor(...args: string[]) {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(repoRoot, 'apps/ingest-worker/dist/doctor-cli.js'), ...args],
      { env: { PATH: process.env.PATH ?? '', ...stack.serviceEnv('ingest-worker') } },
    );
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const topics = [
  'river',
  'budget',
  'travel',
  'garden',
  'winter',
  'market',
  'library',
  'harbor',
  'forest',
  'bridge',
];
const words = ['old', 'mill', 'report', 'quarterly', 'train', 'flowers', 'snow', 'bread', 'books', 'ships'];

/** A short document of its own words: topic and detail vary with the index. */
function documentText(index: number): string {
  const topic = topics[index % topics.length]!;
  const detail = words[Math.floor(index / topics.length) % words.length]!;
  return `Note ${index} about the ${topic}: the ${detail} near the ${topic} and the ${words[index % words.length]} of ${topic}.`;
}

async function addDocuments(collection: string, count: number, group: string, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let start = from; start < from + count; start += 100) {
    const documents = Array.from({ length: Math.min(100, from + count - start) }, (_, i) => ({
      external_id: `${group}-${start + i}`,
      text: documentText(start + i),
      metadata: { group },
    }));
    const answer = await stack.call('POST', `/v1/collections/${collection}/documents/batch`, {
      body: { documents },
    });
    expect(answer.status).toBe(200);
    ids.push(...(answer.body.results as Json[]).map((r) => r.id as string));
  }
  return ids;
}

async function waitForReady(collection: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { body } = await stack.call('GET', `/v1/collections/${collection}`);
    if (body.documents?.ready === count && body.documents.queued + body.documents.processing === 0) return;
    if (Date.now() > deadline) throw new Error(`collection ${collection} not ready: ${JSON.stringify(body)}`);
    await sleep(250);
  }
}

async function waitForReindex(collection: string, states: string[], timeoutMs = 180_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await stack.call('GET', `/v1/collections/${collection}/reindex`);
    if (status === 200 && states.includes(body.state)) return body;
    if (Date.now() > deadline)
      throw new Error(`reindex of ${collection} stuck: ${status} ${JSON.stringify(body)}`);
    await sleep(200);
  }
}

const queries = ['river mill', 'quarterly budget report', 'snow in winter', 'books of the library'];

/** A dense search of the stable documents: the chunk → score map of its top hits. */
async function denseScores(collection: string, query: string, topK = 10) {
  const answer = await stack.call('POST', '/v1/search', {
    body: { collection, query, mode: 'dense', top_k: topK, filter: { field: 'group', eq: 'stable' } },
  });
  return answer;
}

/** Which of the two references every hit's score agrees with: 'first', 'second', or 'mixed'. */
function modelOfAnswer(
  results: Json[],
  first: Map<string, number>,
  second: Map<string, number>,
): 'first' | 'second' | 'mixed' {
  const agrees = (reference: Map<string, number>) =>
    results.every((hit) => {
      const expected = reference.get(hit.chunk_id);
      return expected !== undefined && Math.abs(expected - hit.score) < 1e-4;
    });
  if (results.length > 0 && agrees(first)) return 'first';
  if (results.length > 0 && agrees(second)) return 'second';
  return 'mixed';
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  // A generated model that takes 64 tokens: its manifest, renamed, says so.
  shortModelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-short-'));
  await writeTinyModel(shortModelDir, { dim: 24, seed: 11 });
  const manifestPath = join(shortModelDir, 'rag-model.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  await writeFile(
    manifestPath,
    `${JSON.stringify({ ...manifest, name: 'tiny-short-d24', maxLength: shortMaxLength }, null, 2)}\n`,
  );
  secondPort = (await freePort())!;
  shortPort = (await freePort())!;
  stack = await startStack({
    modelDir,
    extraEnv: {
      EMBEDDING_SERVICE_URLS: `http://127.0.0.1:${secondPort},http://127.0.0.1:${shortPort}`,
    },
    // Five clients at full speed for the length of a move.
    gatewayEnv: { RATE_LIMIT_PER_ADDRESS: '1000000', RATE_LIMIT_PER_CREDENTIAL: '1000000' },
    workerEnv: {
      REINDEX_KEEP_OLD_SECONDS: String(keepOldSeconds),
      REINDEX_BATCH_DOCUMENTS: '30',
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      COLLECTION_LOCK_TTL_MS: '2000',
    },
  });
  // Each other model's own deployment; every service finds it by its URL (EMBEDDING_SERVICE_URLS).
  secondService = await startService({
    app: 'embedding-service',
    repoRoot,
    port: secondPort,
    readyTimeoutMs: 300_000,
    env: {
      SERVICE_TOKEN: stack.serviceToken,
      MODEL_DIR: e5Dir,
      MODEL_MANIFEST: e5Manifest,
      LOG_LEVEL: 'warn',
    },
  });
  shortService = await startService({
    app: 'embedding-service',
    repoRoot,
    port: shortPort,
    env: { SERVICE_TOKEN: stack.serviceToken, MODEL_DIR: shortModelDir, LOG_LEVEL: 'warn' },
  });
  firstModel = await modelOf(stack.services[0]!.url);
  secondModel = await modelOf(secondService.url);
  shortModel = await modelOf(shortService.url);
  expect([firstModel.dim, secondModel.dim, shortModel.dim]).toEqual([32, 384, 24]);
  expect(secondModel.name).toBe('multilingual-e5-small-q4');
  expect(shortModel.maxLength).toBe(shortMaxLength);
}, 360_000);

afterAll(async () => {
  for (const store of stores) await store.close().catch(() => {});
  await secondService?.stop();
  await shortService?.stop();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  await rm(shortModelDir, { recursive: true, force: true });
});

describe('collections on two models', () => {
  it('indexes and searches each collection with its own model, side by side in one tenant', async () => {
    const created = await stack.call('POST', '/v1/collections', {
      body: { name: 'wide', model: secondModel.name },
    });
    expect(created).toMatchObject({ status: 201, body: { model: secondModel.name } });
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'narrow' } })).status).toBe(201);
    await addDocuments('wide', 20, 'stable');
    await addDocuments('narrow', 20, 'stable');
    await waitForReady('wide', 20);
    await waitForReady('narrow', 20);

    for (const collection of ['wide', 'narrow']) {
      const found = await denseScores(collection, 'river mill');
      expect(found.status).toBe(200);
      expect(found.body.results.length).toBeGreaterThan(0);
      expect(found.body.results[0].text).toContain('river');
    }
    // Each collection's vectors are in its model's space only.
    expect(await vectorCount(spaceStore(secondModel), 'default', 'wide')).toBe(20);
    expect(await vectorCount(spaceStore(firstModel), 'default', 'wide')).toBe(0);
    expect(await vectorCount(spaceStore(firstModel), 'default', 'narrow')).toBe(20);
    expect(await vectorCount(spaceStore(secondModel), 'default', 'narrow')).toBe(0);
    const report = await doctor();
    expect(report.code, JSON.stringify(report)).toBe(0);
    expect(report.stdout).toContain('problems=0');
  });

  it('refuses a reindex to an unknown model (404), to the model it is on (422), and without admin rights', async () => {
    const unknown = await stack.call('POST', '/v1/collections/narrow/reindex', { body: { model: 'gpt' } });
    expect(unknown).toMatchObject({ status: 404, body: { detail: expect.stringContaining('gpt') } });
    const same = await stack.call('POST', '/v1/collections/narrow/reindex', {
      body: { model: firstModel.name },
    });
    expect(same.status).toBe(422);
    const editor = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'default', role: 'editor' } });
    const refused = await stack.call('POST', '/v1/collections/narrow/reindex', {
      key: editor.body.key,
      body: { model: secondModel.name },
    });
    expect(refused.status).toBe(403);
    expect((await stack.call('GET', '/v1/collections/narrow/reindex')).status).toBe(404);
  });
});

describe('moving a collection to another model', () => {
  const documents = 300;

  it('switches while 4 clients search and 1 ingests and deletes: no failed search, each answer from one model', async () => {
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'moving' } })).status).toBe(201);
    await addDocuments('moving', documents, 'stable');
    await waitForReady('moving', documents);

    const before = new Map<string, Map<string, number>>();
    for (const query of queries) {
      const answer = await denseScores('moving', query, 50);
      before.set(query, new Map((answer.body.results as Json[]).map((r) => [r.chunk_id, r.score])));
    }
    // A first page under the old model, for the cursor check after the switch.
    const firstPage = await denseScores('moving', queries[0]!, 5);
    expect(firstPage.body.next_cursor).toEqual(expect.any(String));

    const started = await stack.call('POST', '/v1/collections/moving/reindex', {
      body: { model: secondModel.name },
    });
    expect(started).toMatchObject({
      status: 202,
      body: { state: 'running', from_model: firstModel.name, to_model: secondModel.name },
    });
    expect(started.body.documents.total).toBe(documents);
    const second = await stack.call('POST', '/v1/collections/moving/reindex', {
      body: { model: secondModel.name },
    });
    expect(second.status).toBe(409);

    // 4 searchers and 1 writer until the switch.
    let switched = false;
    const answers: Array<{ query: string; status: number; results: Json[]; at: 'before' | 'after' }> = [];
    const searcher = async (offset: number) => {
      for (let i = offset; !switched; i++) {
        const query = queries[i % queries.length]!;
        const answer = await denseScores('moving', query);
        answers.push({ query, status: answer.status, results: answer.body.results ?? [], at: 'before' });
      }
    };
    const churned: string[] = [];
    const deleted: string[] = [];
    const writer = async () => {
      for (let i = 0; !switched; i++) {
        const added = await stack.call('POST', '/v1/collections/moving/documents', {
          body: { external_id: `churn-${i}`, text: documentText(i), metadata: { group: 'churn' } },
        });
        expect(added.status).toBe(202);
        churned.push(added.body.id);
        if (i % 2 === 1) {
          const gone = churned.shift()!;
          expect((await stack.call('DELETE', `/v1/documents/${gone}`)).status).toBe(202);
          deleted.push(gone);
        }
        await sleep(100);
      }
    };
    const progress: Json[] = [];
    const watcher = async () => {
      const done = await waitForReindex('moving', ['switched', 'failed', 'cancelled'], 420_000);
      progress.push(done);
      switched = true;
    };
    await Promise.all([searcher(0), searcher(1), searcher(2), searcher(3), writer(), watcher()]);
    const result = progress[0]!;
    expect(result).toMatchObject({
      state: 'switched',
      documents: { done: documents, total: documents },
      error: null,
    });
    console.log(
      `reindex of ${documents} documents (${firstModel.name} -> ${secondModel.name}): ${result.documents_per_second} documents/s`,
    );

    // Quiet again: the new model's answers.
    for (const churn of churned) {
      expect(await stack.waitForStatus(churn, undefined, ['ready', 'failed'])).toMatchObject({
        status: 'ready',
      });
    }
    for (const gone of deleted) await stack.waitForStatus(gone, undefined, ['gone']);
    const after = new Map<string, Map<string, number>>();
    for (const query of queries) {
      const answer = await denseScores('moving', query, 50);
      expect(answer.status).toBe(200);
      after.set(query, new Map((answer.body.results as Json[]).map((r) => [r.chunk_id, r.score])));
      expect(modelOfAnswer(answer.body.results.slice(0, 10), before.get(query)!, after.get(query)!)).toBe(
        'second',
      );
    }
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const origins = answers.map((a) => modelOfAnswer(a.results, before.get(a.query)!, after.get(a.query)!));
    expect(origins.filter((origin) => origin === 'mixed')).toEqual([]);
    expect(origins).toContain('first');

    // The collection records its new model; a page 2 of a search made before the switch is refused.
    expect((await stack.call('GET', '/v1/collections/moving')).body).toMatchObject({
      model: secondModel.name,
    });
    const page2 = await stack.call('POST', '/v1/search', {
      body: {
        collection: 'moving',
        query: queries[0],
        mode: 'dense',
        top_k: 5,
        filter: { field: 'group', eq: 'stable' },
        cursor: firstPage.body.next_cursor,
      },
    });
    expect(page2.status).toBe(409);

    // PostgreSQL and the new index agree; the old model's vectors go after the grace period.
    const report = await doctor('--collection', 'moving');
    expect(report.code, JSON.stringify(report)).toBe(0);
    expect(report.stdout).toContain('problems=0');
    expect(await vectorCount(spaceStore(secondModel), 'default', 'moving')).toBeGreaterThanOrEqual(documents);
    const dropped = await waitUntil(
      async () => (await stack.call('GET', '/v1/collections/moving/reindex')).body.old_dropped_at !== null,
      (keepOldSeconds + 30) * 1000,
    );
    expect(dropped).toBe(true);
    expect(await vectorCount(spaceStore(firstModel), 'default', 'moving')).toBe(0);
  }, 600_000);

  it('cancels a reindex: the old model keeps serving and the new index is removed', async () => {
    const started = await stack.call('POST', '/v1/collections/narrow/reindex', {
      body: { model: secondModel.name },
    });
    expect(started.status).toBe(202);
    const cancelled = await stack.call('DELETE', '/v1/collections/narrow/reindex');
    expect(cancelled).toMatchObject({ status: 200, body: { state: 'cancelled' } });
    expect((await stack.call('DELETE', '/v1/collections/narrow/reindex')).status).toBe(404);
    expect((await stack.call('GET', '/v1/collections/narrow')).body.model).toBeNull();
    const found = await denseScores('narrow', 'river mill');
    expect(found.status).toBe(200);
    expect(found.body.results.length).toBeGreaterThan(0);
    expect(
      await waitUntil(
        async () => (await vectorCount(spaceStore(secondModel), 'default', 'narrow')) === 0,
        30_000,
      ),
    ).toBe(true);
  });

  it('carries on after the worker is killed in the middle of a move', async () => {
    const started = await stack.call('POST', '/v1/collections/moving/reindex', {
      body: { model: firstModel.name },
    });
    expect(started.status).toBe(202);
    // Killed once some documents are done, before the end.
    await waitUntil(async () => {
      const { body } = await stack.call('GET', '/v1/collections/moving/reindex');
      return body.documents.done > 0 || body.state !== 'running';
    }, 60_000);
    const killedAt = (await stack.call('GET', '/v1/collections/moving/reindex')).body;
    await stack.restart('ingest-worker', 'SIGKILL');
    const done = await waitForReindex('moving', ['switched', 'failed', 'cancelled']);
    expect(done).toMatchObject({ state: 'switched', to_model: firstModel.name, error: null });
    expect(done.documents.done).toBeGreaterThanOrEqual(killedAt.documents.done);
    const report = await doctor('--collection', 'moving');
    expect(report.code, JSON.stringify(report)).toBe(0);
    const found = await denseScores('moving', 'river mill');
    expect(found.status).toBe(200);
    expect(found.body.results[0].text).toContain('river');
  });
});

/** A long document: paragraphs of sentences, each paragraph longer than the short model's input. */
function longText(index: number): string {
  const paragraph = (p: number) =>
    Array.from({ length: 14 }, (_, k) => {
      const topic = topics[(index + p + k) % topics.length]!;
      const word = words[(index * 3 + p * 5 + k) % words.length]!;
      return `The ${word} by the ${topic} was seen in report ${index}-${p}-${k}.`;
    }).join(' ');
  return [0, 1, 2].map(paragraph).join('\n\n');
}

interface ChunkView {
  chunk_id: string;
  text: string;
  start_offset: number;
  end_offset: number;
}

async function documentChunks(id: string): Promise<ChunkView[]> {
  const chunks: ChunkView[] = [];
  for (let cursor: string | null = null; ; ) {
    const query: string = cursor === null ? '?limit=100' : `?limit=100&cursor=${cursor}`;
    const answer = await stack.call('GET', `/v1/documents/${id}/chunks${query}`);
    expect(answer.status).toBe(200);
    chunks.push(...(answer.body.chunks as ChunkView[]));
    cursor = answer.body.next_cursor;
    if (cursor === null) return chunks;
  }
}

describe('a move to a model with a shorter input', () => {
  it('cuts the documents again from their text: old chunks until the switch, new ones after, no text lost', async () => {
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'long' } })).status).toBe(201);
    const answer = await stack.call('POST', '/v1/collections/long/documents/batch', {
      body: {
        documents: Array.from({ length: 6 }, (_, i) => ({
          external_id: `long-${i}`,
          text: longText(i),
          metadata: { group: 'stable' },
        })),
      },
    });
    expect(answer.status).toBe(200);
    const ids = (answer.body.results as Json[]).map((r) => r.id as string);
    await waitForReady('long', ids.length);

    // The short model takes 64 tokens less its special tokens (an empty passage prefix).
    const budget = shortMaxLength - (await tokenize(shortService!.url, [''], true))[0]!.length;
    const before = new Map<string, ChunkView[]>();
    for (const id of ids) before.set(id, await documentChunks(id));
    const oldChunks = [...before.values()].flat();
    const oldLengths = await tokenize(
      shortService!.url,
      oldChunks.map((chunk) => chunk.text),
    );
    expect(oldLengths.some((tokens) => tokens.length > budget)).toBe(true);
    const oldIds = new Set(oldChunks.map((chunk) => chunk.chunk_id));

    const started = await stack.call('POST', '/v1/collections/long/reindex', {
      body: { model: shortModel.name },
    });
    expect(started.status).toBe(202);
    // A new version of one document, written while the move runs (chunked for the old model, out of the
    // searched group): before its batch, cut with the others; during the move, cut again before the switch;
    // after it, chunked for the new model. Either way it ends in chunks the new model takes whole.
    const changed = ids[0]!;
    const changedText = longText(100);
    const rewritten = await stack.call('POST', '/v1/collections/long/documents', {
      body: { external_id: 'long-0', text: changedText, metadata: { group: 'changed' } },
    });
    expect(rewritten).toMatchObject({ status: 202, body: { id: changed } });
    // Two clients search until the switch: each answer from the old chunks or from the new ones.
    let switched = false;
    const answers: Array<{ status: number; ids: string[] }> = [];
    const searcher = async (offset: number) => {
      for (let i = offset; !switched; i++) {
        const found = await denseScores('long', queries[i % queries.length]!);
        answers.push({
          status: found.status,
          ids: ((found.body.results ?? []) as Json[]).map((hit) => hit.chunk_id as string),
        });
      }
    };
    const watcher = async () => {
      const done = await waitForReindex('long', ['switched', 'failed', 'cancelled']);
      switched = true;
      expect(done).toMatchObject({ state: 'switched', error: null, documents: { done: ids.length } });
    };
    await Promise.all([searcher(0), searcher(1), watcher()]);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await stack.call('GET', `/v1/documents/${changed}`);
      if (body.status === 'ready' && body.ready_version === 2) break;
      expect(body.status).not.toBe('failed');
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(200);
    }

    const after = new Map<string, ChunkView[]>();
    for (const id of ids) after.set(id, await documentChunks(id));
    const newChunks = [...after.values()].flat();
    const newIds = new Set(newChunks.map((chunk) => chunk.chunk_id));
    expect(newChunks.length).toBeGreaterThan(oldChunks.length);
    expect([...newIds].filter((id) => oldIds.has(id))).toEqual([]);
    expect(after.get(changed)!.length).toBeGreaterThan(1);
    // Every new chunk fits the short model whole.
    const newLengths = await tokenize(
      shortService!.url,
      newChunks.map((chunk) => chunk.text),
    );
    expect(newLengths.filter((tokens) => tokens.length > budget)).toEqual([]);
    // No text lost: every character of every old chunk is in a new chunk at the same place of the document.
    for (const id of ids) {
      const text = id === changed ? changedText : longText(ids.indexOf(id));
      for (const chunk of after.get(id)!) {
        expect(chunk.text).toBe(text.slice(chunk.start_offset, chunk.end_offset));
      }
      // The old chunks' places, or for the rewritten document its whole new text.
      const places =
        id === changed
          ? [{ start_offset: 0, end_offset: text.length }]
          : before
              .get(id)!
              .map((chunk) => ({ start_offset: chunk.start_offset, end_offset: chunk.end_offset }));
      for (const chunk of places) {
        for (let at = chunk.start_offset; at < chunk.end_offset; at++) {
          if (/\s/.test(text[at]!)) continue;
          const covered = after.get(id)!.some((piece) => piece.start_offset <= at && at < piece.end_offset);
          expect(covered, `character ${at} of document ${id}`).toBe(true);
        }
      }
      const document = await stack.call('GET', `/v1/documents/${id}`);
      expect(document.body.chunks).toBe(after.get(id)!.length);
    }

    console.log(
      `cut again for ${shortModel.name}: ${ids.length} documents, ${oldChunks.length} chunks -> ${newChunks.length}, ${answers.length} searches during the move`,
    );
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const origins = answers.map((a) =>
      a.ids.length > 0 && a.ids.every((id) => oldIds.has(id))
        ? 'old'
        : a.ids.length > 0 && a.ids.every((id) => newIds.has(id))
          ? 'new'
          : 'mixed',
    );
    expect(origins.filter((origin) => origin === 'mixed')).toEqual([]);
    expect(origins).toContain('old');
    // After the switch: the new chunks, with their own text.
    const found = await denseScores('long', 'report of the river');
    expect(found.status).toBe(200);
    expect(found.body.results.length).toBeGreaterThan(0);
    const byId = new Map(newChunks.map((chunk) => [chunk.chunk_id, chunk.text]));
    for (const hit of found.body.results as Json[]) expect(hit.text).toBe(byId.get(hit.chunk_id));
    const report = await doctor('--collection', 'long');
    expect(report.code, JSON.stringify(report)).toBe(0);
    expect(report.stdout).toContain('problems=0');
    expect(await vectorCount(spaceStore(shortModel), 'default', 'long')).toBe(newChunks.length);
  }, 180_000);
});

describe('a collection whose model is no longer served', () => {
  it("moves off a model whose service is gone (from PostgreSQL's chunk text), and searches again", async () => {
    // `wide` is on the second model; its service goes away.
    await secondService?.stop();
    secondService = undefined;
    const started = await stack.call('POST', '/v1/collections/wide/reindex', {
      body: { model: firstModel.name },
    });
    expect(started).toMatchObject({
      status: 202,
      body: { from_model: secondModel.name, to_model: firstModel.name },
    });
    const done = await waitForReindex('wide', ['switched', 'failed', 'cancelled']);
    expect(done).toMatchObject({ state: 'switched', documents: { done: 20, total: 20 }, error: null });
    const found = await denseScores('wide', 'river mill');
    expect(found.status).toBe(200);
    expect(found.body.results[0].text).toContain('river');
    const report = await doctor('--collection', 'wide');
    expect(report.code, JSON.stringify(report)).toBe(0);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}
