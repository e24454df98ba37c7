import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayUrl } from './ingest-support.js';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * The document write path through the public API: a document an ACL hides from the caller stays hidden
 * and untouched on every write route; title, metadata and ACL change in place (PATCH, or the same content
 * sent with other fields) and search follows; stored content belongs to one document version only.
 */

let stack: Stack;
let modelDir: string;
let call: Stack['call'];
const keys: Record<string, string> = {};

async function newKey(role: string, extra: Json = {}): Promise<string> {
  const response = await call('POST', '/v1/api-keys', { body: { tenant: 'acme', role, ...extra } });
  expect(response.status).toBe(201);
  return response.body.key;
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    gatewayEnv: { RATE_LIMIT_PER_CREDENTIAL: '100000', RATE_LIMIT_PER_ADDRESS: '100000' },
  });
  call = stack.call;
  expect((await call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  keys.admin = await newKey('admin');
  expect((await call('POST', '/v1/collections', { key: keys.admin, body: { name: 'kb' } })).status).toBe(201);
  keys.editor = await newKey('editor');
  keys.bobEditor = await newKey('editor', { principals: ['user:bob'] });
  keys.bob = await newKey('reader', { principals: ['user:bob'] });
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

async function addDocument(key: string, body: Json) {
  return call('POST', '/v1/collections/kb/documents', { key, body });
}

async function addReady(body: Json): Promise<string> {
  const answer = await addDocument(keys.editor!, body);
  expect(answer.status).toBe(202);
  await stack.waitForStatus(answer.body.id, keys.admin, ['ready']);
  return answer.body.id;
}

async function search(key: string, query: string, extra: Json = {}) {
  const answer = await call('POST', '/v1/search', {
    key,
    body: { collection: 'kb', query, mode: 'bm25', top_k: 20, ...extra },
  });
  expect(answer.status).toBe(200);
  return answer.body.results as Json[];
}

/** One document's hits (the tiny test model's vocabulary lets unrelated documents match too). */
async function hitsOf(key: string, query: string, documentId: string, extra: Json = {}) {
  return (await search(key, query, extra)).filter((hit) => hit.document_id === documentId);
}

/** Searches until the document is among the hits (the vector store follows a field change shortly). */
async function searchUntilFound(key: string, query: string, documentId: string, extra: Json = {}) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const hits = await hitsOf(key, query, documentId, extra);
    if (hits.length > 0) return hits;
    if (Date.now() > deadline) throw new Error(`document ${documentId} never found for "${query}"`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function storedRow(id: string) {
  const { rows } = await stack.db.query(
    'SELECT version, content_hash, title, metadata, acl, status, source_key FROM documents WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function uploadAs(key: string, externalId: string, bytes: Buffer) {
  const form = new FormData();
  form.set('document', JSON.stringify({ external_id: externalId }));
  form.set('file', new Blob([bytes], { type: 'text/plain' }), 'plan.txt');
  const response = await fetch(`${gatewayUrl(stack)}/v1/collections/kb/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** Nothing of the hidden document: no id, version, status or anything else naming it. */
function expectNothingOf(body: Json, id: string) {
  expect(JSON.stringify(body)).not.toContain(id);
  for (const field of ['id', 'version', 'status_url', 'document_status', 'document_id']) {
    expect(body).not.toHaveProperty(field);
  }
}

describe('a document the caller may not see', () => {
  it('is neither confirmed, described nor changed by an editor posting its external_id', async () => {
    const text = 'The board plans to acquire Globex in the third quarter.';
    const hidden = await addReady({ external_id: 'board-plan', text, title: 'Plan', acl: ['group:board'] });
    const before = await storedRow(hidden);

    // The exact text, other text, and either with an ACL of the caller's own: all the same conflict.
    for (const body of [
      { external_id: 'board-plan', text },
      { external_id: 'board-plan', text: 'Nothing to see here.' },
      { external_id: 'board-plan', text, acl: ['user:bob'] },
    ]) {
      const answer = await addDocument(keys.bobEditor!, body);
      expect(answer.status).toBe(409);
      expectNothingOf(answer.body, hidden);
    }
    const batch = await call('POST', '/v1/collections/kb/documents/batch', {
      key: keys.bobEditor!,
      body: {
        documents: [
          { external_id: 'board-plan', text },
          { external_id: 'bob-notes', text: 'Bob notes.' },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0].status).toBe(409);
    expectNothingOf(batch.body.results[0], hidden);
    expect(batch.body.results[1].status).toBe(202);
    const uploaded = await uploadAs(keys.bobEditor!, 'board-plan', Buffer.from(text));
    expect(uploaded.status).toBe(409);
    expectNothingOf(uploaded.body, hidden);

    // By id it reads as missing on every route.
    for (const [method, body] of [['GET'], ['DELETE'], ['PATCH', { acl: ['user:bob'] }]] as const) {
      const answer = await call(method, `/v1/documents/${hidden}`, {
        key: keys.bobEditor!,
        ...(body ? { body } : {}),
      });
      expect(answer.status, method).toBe(404);
    }

    expect(await storedRow(hidden)).toEqual(before);
    expect(await hitsOf(keys.admin!, 'board acquire Globex', hidden)).not.toEqual([]);
    expect(await hitsOf(keys.bob!, 'board acquire Globex', hidden)).toEqual([]);
  });

  it('stays editable by an editor it is shared with', async () => {
    const shared = await addReady({
      external_id: 'bob-plan',
      text: 'Bob drafts the roadmap.',
      acl: ['user:bob'],
    });
    const answer = await addDocument(keys.bobEditor!, {
      external_id: 'bob-plan',
      text: 'Bob drafts the roadmap for the spring.',
      acl: ['user:bob'],
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ id: shared, version: 2 });
  });
});

describe('PATCH /v1/documents/{id}', () => {
  it('changes title, metadata and ACL without re-indexing, and search follows', async () => {
    const id = await addReady({
      external_id: 'handbook',
      text: 'Holiday requests go through the staffing portal two weeks ahead.',
      title: 'Old title',
      metadata: { dept: 'hr' },
      acl: ['group:hr'],
    });
    const chunkIds = (await hitsOf(keys.admin!, 'holiday staffing portal', id)).map((hit) => hit.chunk_id);
    expect(chunkIds.length).toBeGreaterThan(0);
    expect(await hitsOf(keys.bob!, 'holiday staffing portal', id)).toEqual([]);

    const patched = await call('PATCH', `/v1/documents/${id}`, {
      key: keys.editor!,
      body: { title: 'New title', metadata: { dept: 'ops' }, acl: ['user:bob'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, title: 'New title', metadata: { dept: 'ops' }, version: 1 });

    // Widened: Bob finds it, under the new title, with the new metadata matching in the vector query.
    const filter = { filter: { field: 'dept', eq: 'ops' } };
    const hits = await searchUntilFound(keys.bob!, 'holiday staffing portal', id, filter);
    expect(hits.map((hit) => hit.title)).toEqual(hits.map(() => 'New title'));
    expect(hits.map((hit) => hit.chunk_id).sort()).toEqual([...chunkIds].sort());
    const oldDept = { filter: { field: 'dept', eq: 'hr' } };
    expect(await hitsOf(keys.admin!, 'holiday staffing portal', id, oldDept)).toEqual([]);
    expect(await storedRow(id)).toMatchObject({ version: 1, status: 'ready' });

    // Narrowed: gone for Bob at once, the answer cached a moment ago included.
    const narrowed = await call('PATCH', `/v1/documents/${id}`, {
      key: keys.editor!,
      body: { acl: ['group:hr'] },
    });
    expect(narrowed.status).toBe(200);
    expect(await hitsOf(keys.bob!, 'holiday staffing portal', id, filter)).toEqual([]);

    // Back to the whole tenant.
    expect(
      (await call('PATCH', `/v1/documents/${id}`, { key: keys.editor!, body: { acl: null } })).status,
    ).toBe(200);
    await searchUntilFound(keys.bob!, 'holiday staffing portal', id);
  });

  it('reaches the version being indexed while the fields change', async () => {
    const id = await addReady({
      external_id: 'rota',
      text: 'The night rota starts at ten.',
      acl: ['group:ops'],
    });
    const next = await addDocument(keys.editor!, {
      external_id: 'rota',
      text: 'The night rota starts at eleven from March onwards.',
      acl: ['group:ops'],
    });
    expect(next.body).toMatchObject({ id, version: 2 });
    // Whether the job is queued, embedding or writing now, the version it makes visible carries the new ACL.
    const patched = await call('PATCH', `/v1/documents/${id}`, {
      key: keys.editor!,
      body: { acl: ['user:bob'] },
    });
    expect(patched.status).toBe(200);
    await stack.waitForStatus(id, keys.admin, ['ready']);
    const hits = await searchUntilFound(keys.bob!, 'night rota March onwards', id);
    expect(hits.map((hit) => hit.text)).toContain('The night rota starts at eleven from March onwards.');
  });

  it('refuses bad fields with the problem named, and an unknown id with 404', async () => {
    const id = await addReady({ text: 'A short note about parking.' });
    const bad = await call('PATCH', `/v1/documents/${id}`, {
      key: keys.editor!,
      body: { metadata: { 'not a key': 1 } },
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.errors)).toContain('metadata');
    const unknown = await call('PATCH', '/v1/documents/00000000-0000-4000-8000-000000000000', {
      key: keys.editor!,
      body: { title: 'x' },
    });
    expect(unknown.status).toBe(404);
    expect(
      (await call('PATCH', `/v1/documents/${id}`, { key: keys.bob!, body: { title: 'x' } })).status,
    ).toBe(403);
  });
});

describe('the same content sent again with other fields', () => {
  it('applies the new ACL, metadata and title in place and says so', async () => {
    const text = 'The cafeteria menu changes every Monday morning.';
    const id = await addReady({ external_id: 'menu', text, title: 'Menu', acl: ['group:kitchen'] });
    expect(await hitsOf(keys.bob!, 'cafeteria menu Monday', id)).toEqual([]);

    const again = await addDocument(keys.editor!, {
      external_id: 'menu',
      text,
      title: 'Weekly menu',
      metadata: { site: 'north' },
      acl: ['user:bob'],
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, version: 1, status: 'ready' });
    expect([...again.body.fields_updated].sort()).toEqual(['acl', 'metadata', 'title']);
    const hits = await searchUntilFound(keys.bob!, 'cafeteria menu Monday', id, {
      filter: { field: 'site', eq: 'north' },
    });
    expect(hits[0]!.title).toBe('Weekly menu');

    // Unchanged fields: a plain no-op, as before.
    const same = await addDocument(keys.editor!, {
      external_id: 'menu',
      text,
      title: 'Weekly menu',
      metadata: { site: 'north' },
      acl: ['user:bob'],
    });
    expect(same.status).toBe(200);
    expect(same.body).not.toHaveProperty('fields_updated');
  });
});

describe('stored content', () => {
  it('belongs to one document: deleting one of two with the same large text keeps the other', async () => {
    // Over the inline limit of a queue job, so the text goes to object storage.
    const sentence = 'Quarterly report of the northern warehouse. ';
    const text = sentence.repeat(Math.ceil(1_000_001 / sentence.length));
    const first = await addDocument(keys.editor!, { external_id: 'report-a', text });
    const second = await addDocument(keys.editor!, { external_id: 'report-b', text });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const [a, b] = [first.body.id as string, second.body.id as string];
    await stack.waitForStatus(a, keys.admin, ['ready']);
    await stack.waitForStatus(b, keys.admin, ['ready']);
    const fileOf = async (id: string) =>
      join(stack.storageRoot, ...(await storedRow(id)).source_key.split('/'));
    const fileB = await fileOf(b);
    expect(existsSync(fileB)).toBe(true);

    expect((await call('DELETE', `/v1/documents/${a}`, { key: keys.editor! })).status).toBe(202);
    await stack.waitForStatus(a, keys.admin, ['gone']);
    expect(existsSync(fileB)).toBe(true);
  });
});
