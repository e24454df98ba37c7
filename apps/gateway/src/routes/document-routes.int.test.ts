import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey, limitedCallers, useRouteTestGateway } from './route-test-fixture.js';

/**
 * The document routes over HTTP on the real PostgreSQL, Redis and local object storage: adding a document
 * (JSON, multipart, batch), the same content again, a new version, its status and chunks, changing its fields
 * and deleting it. Only what a caller sees is asserted (statuses, bodies, what a later GET shows), so these
 * hold whichever module accepts the document behind the route. Every write is tried with a reader, another
 * tenant, another collection scope and an editor outside the document's ACL.
 */

const route = useRouteTestGateway({ beforeAll, afterAll }, { collections: ['handbook', 'elsewhere'] });

/** An editor acting as group:it, outside the ACL of `hrOnly`. */
let itEditor: string;
let hrOnly: string;

type Body = Record<string, unknown>;

const add = (body: Body, key = route.keys.editor, collection = 'handbook') =>
  route.gateway.call('POST', `/v1/collections/${collection}/documents`, { key, body });

/** A body other than JSON (a multipart form, or one the route refuses) posted to add a document to handbook. */
const send = (body: string | FormData, key = route.keys.editor, contentType?: string) =>
  fetch(`${route.gateway.base}/v1/collections/handbook/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(contentType ? { 'content-type': contentType } : {}) },
    body,
  });

const patch = (id: string, body: Body, key = route.keys.editor) =>
  route.gateway.call('PATCH', `/v1/documents/${id}`, { key, body });

async function document(id: string, key = route.keys.admin): Promise<Body> {
  const answer = await route.gateway.call('GET', `/v1/documents/${id}`, { key });
  expect(answer.status).toBe(200);
  return answer.body;
}

beforeAll(async () => {
  itEditor = (await issueKey(route.gateway, 'acme', { role: 'editor', principals: ['group:it'] })).key;
  const created = await add({
    external_id: 'hr/leave',
    text: 'Leave is booked in the portal.',
    acl: ['group:hr'],
  });
  expect(created.status).toBe(202);
  hrOnly = String(created.body.id);
});

describe('POST /v1/collections/{name}/documents', () => {
  it('queues a new document (202 with its status URL), and GET shows what was sent', async () => {
    const text = 'Book travel through the portal.';
    const answer = await add({
      external_id: 'policy/travel',
      title: 'Travel',
      text,
      metadata: { team: 'ops', year: 2024 },
    });
    expect(answer.status).toBe(202);
    const id = String(answer.body.id);
    expect(answer.body).toMatchObject({
      id,
      version: 1,
      status: 'queued',
      status_url: `/v1/documents/${id}`,
    });
    const shown = await document(id);
    expect(shown).toMatchObject({
      id,
      external_id: 'policy/travel',
      title: 'Travel',
      status: 'queued',
      version: 1,
      ready_version: null,
      content_hash: createHash('sha256').update(text).digest('hex'),
      metadata: { team: 'ops', year: 2024 },
      acl: null,
    });
  });

  it('answers 200 and changes nothing for the same content again; new content is a new version', async () => {
    const first = await add({ external_id: 'policy/expenses', text: 'Receipts within 30 days.' });
    expect(first.status).toBe(202);
    const again = await add({ external_id: 'policy/expenses', text: 'Receipts within 30 days.' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, version: 1 });
    const changed = await add({ external_id: 'policy/expenses', text: 'Receipts within 60 days.' });
    expect(changed.status).toBe(202);
    expect(changed.body).toMatchObject({ id: first.body.id, version: 2 });
    expect(await document(String(first.body.id))).toMatchObject({ version: 2 });
  });

  it('changes only the fields when the content is the same but the title differs', async () => {
    const first = await add({ external_id: 'policy/parking', title: 'Parking', text: 'Park in zone B.' });
    const retitled = await add({
      external_id: 'policy/parking',
      title: 'Car parking',
      text: 'Park in zone B.',
    });
    expect(retitled.status).toBe(200);
    expect(retitled.body).toMatchObject({ id: first.body.id, version: 1 });
    expect(retitled.body.fields_updated).toContain('title');
    expect(await document(String(first.body.id))).toMatchObject({ title: 'Car parking', version: 1 });
  });

  it('takes a file as multipart/form-data with its fields in a JSON `document` part', async () => {
    const form = new FormData();
    form.set('document', JSON.stringify({ external_id: 'notes/upload', metadata: { kind: 'upload' } }));
    form.set('file', new Blob(['# Notes\n\nUploaded as a file.'], { type: 'text/markdown' }), 'notes.md');
    const response = await send(form);
    expect(response.status).toBe(202);
    const body = (await response.json()) as Body;
    expect(response.headers.get('location')).toBe(`/v1/documents/${body.id}`);
    expect(await document(String(body.id))).toMatchObject({
      external_id: 'notes/upload',
      filename: 'notes.md',
      metadata: { kind: 'upload' },
      status: 'queued',
    });
  });

  it('refuses a missing collection (404), a bad body (422), a non-JSON body (415) and malformed JSON (400)', async () => {
    expect((await add({ text: 'x' }, route.keys.editor, 'nothing')).status).toBe(404);
    const invalid = await add({ external_id: 'x', text: '   ' });
    expect(invalid.status).toBe(422);
    expect((await add({ text: 'x', unknown_field: 1 })).status).toBe(422);
    const plain = await send('just text', route.keys.editor, 'text/plain');
    expect(plain.status).toBe(415);
    const malformed = await send('{"text": ', route.keys.editor, 'application/json');
    expect(malformed.status).toBe(400);
  });
});

describe('POST /v1/collections/{name}/documents/batch', () => {
  it('answers one result per document: queued, unchanged, or refused on its own', async () => {
    const answer = await route.gateway.call('POST', '/v1/collections/handbook/documents/batch', {
      key: route.keys.editor,
      body: {
        documents: [
          { external_id: 'batch/one', text: 'First.' },
          { external_id: 'policy/travel', text: 'Book travel through the portal.' },
          { external_id: 'batch/bad', text: '' },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 1, unchanged: 1, rejected: 1 });
    const results = answer.body.results as Body[];
    expect(results.map((r) => [r.index, r.status])).toEqual([
      [0, 202],
      [1, 200],
      [2, 422],
    ]);
    expect(results[0]).toMatchObject({ version: 1, document_status: 'queued' });
    expect(results[2]).toMatchObject({ code: 'validation_failed' });
  });

  it('refuses a body without documents (422) and a missing collection (404)', async () => {
    const call = (collection: string, body: unknown) =>
      route.gateway.call('POST', `/v1/collections/${collection}/documents/batch`, {
        key: route.keys.editor,
        body,
      });
    expect((await call('handbook', { documents: [] })).status).toBe(422);
    expect((await call('handbook', {})).status).toBe(422);
    expect((await call('nothing', { documents: [{ text: 'x' }] })).status).toBe(404);
  });
});

describe('GET /v1/documents/{id} and /chunks', () => {
  it('shows no chunks before the document is indexed', async () => {
    const answer = await route.gateway.call('GET', `/v1/documents/${hrOnly}/chunks`, {
      key: route.keys.admin,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ chunks: [], next_cursor: null });
  });

  it('answers 404 for an unknown id or one that is not a uuid, 422 for a bad page', async () => {
    expect(
      (await route.gateway.call('GET', '/v1/documents/not-a-uuid', { key: route.keys.admin })).status,
    ).toBe(404);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(
      (await route.gateway.call('GET', `/v1/documents/${unknown}`, { key: route.keys.admin })).status,
    ).toBe(404);
    expect(
      (await route.gateway.call('GET', `/v1/documents/${hrOnly}/chunks?limit=0`, { key: route.keys.admin }))
        .status,
    ).toBe(422);
  });

  it('hides a document from a reader outside its ACL', async () => {
    const outside = await issueKey(route.gateway, 'acme', { role: 'reader', principals: ['group:it'] });
    expect((await route.gateway.call('GET', `/v1/documents/${hrOnly}`, { key: outside.key })).status).toBe(
      404,
    );
    const inside = await issueKey(route.gateway, 'acme', { role: 'reader', principals: ['group:hr'] });
    expect((await route.gateway.call('GET', `/v1/documents/${hrOnly}`, { key: inside.key })).status).toBe(
      200,
    );
  });
});

describe('PATCH /v1/documents/{id}', () => {
  it('changes the title, metadata and ACL in place; the same fields again change nothing', async () => {
    const created = await add({ external_id: 'patch/me', text: 'Patch me.' });
    const id = String(created.body.id);
    const patched = await patch(id, { title: 'Patched', metadata: { v: 2 }, acl: ['group:hr'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      id,
      title: 'Patched',
      metadata: { v: 2 },
      acl: ['group:hr'],
      version: 1,
    });
    const same = await patch(id, { title: 'Patched' });
    expect(same.status).toBe(200);
    expect(same.body.updated_at).toBe(patched.body.updated_at);
    // An empty ACL opens the document to the whole tenant again.
    const opened = await patch(id, { acl: [] });
    expect(opened.body.acl).toBeNull();
  });

  it('refuses an unknown field (422) and an unknown document (404)', async () => {
    expect((await patch(hrOnly, { text: 'new' })).status).toBe(422);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await patch(unknown, { title: 'x' })).status).toBe(404);
  });
});

describe('DELETE /v1/documents/{id}', () => {
  it('answers 202 deleting; the document then reads as deleting and refuses changes (409)', async () => {
    const created = await add({ external_id: 'delete/me', text: 'Delete me.' });
    const id = String(created.body.id);
    const deleted = await route.gateway.call('DELETE', `/v1/documents/${id}`, { key: route.keys.editor });
    expect(deleted.status).toBe(202);
    expect(deleted.body).toEqual({ id, status: 'deleting', status_url: `/v1/documents/${id}` });
    expect(await document(id)).toMatchObject({ status: 'deleting' });
    const patched = await patch(id, { title: 'x' });
    expect(patched.status).toBe(409);
    // Deleting again is accepted (a retry after the queue was down).
    expect(
      (await route.gateway.call('DELETE', `/v1/documents/${id}`, { key: route.keys.editor })).status,
    ).toBe(202);
  });
});

describe('document writes by limited credentials', () => {
  it('adding, in one or in a batch: a reader is refused, another tenant and another collection scope find nothing', async () => {
    for (const { who, key, status } of limitedCallers(route.keys)) {
      const one = await add({ external_id: 'intruder', text: 'Written by someone who may not.' }, key);
      expect({ who, status: one.status }).toEqual({ who, status });
      const batch = await route.gateway.call('POST', '/v1/collections/handbook/documents/batch', {
        key,
        body: { documents: [{ external_id: 'intruder-batch', text: 'Written by someone who may not.' }] },
      });
      expect({ who, status: batch.status }).toEqual({ who, status });
    }
    const listed = await route.gateway.call(
      'GET',
      '/v1/collections/handbook/documents?external_id_prefix=intruder',
      {
        key: route.keys.admin,
      },
    );
    expect(listed.body.documents).toEqual([]);
  });

  it('an upload by a reader is refused before anything is stored', async () => {
    const form = new FormData();
    form.set('file', new Blob(['intruding'], { type: 'text/plain' }), 'intruder.txt');
    const response = await send(form, route.keys.reader);
    expect(response.status).toBe(403);
  });

  it('changing or deleting a document: refused to a reader, missing for another tenant, another collection scope or an editor outside its ACL', async () => {
    const before = await document(hrOnly);
    const callers = [
      ...limitedCallers(route.keys),
      { who: 'editor outside the ACL', key: itEditor, status: 404 },
    ];
    for (const { who, key, status } of callers) {
      const patched = await patch(hrOnly, { title: 'Taken over' }, key);
      expect({ who, status: patched.status }).toEqual({ who, status });
      const deleted = await route.gateway.call('DELETE', `/v1/documents/${hrOnly}`, { key });
      expect({ who, status: deleted.status }).toEqual({ who, status });
    }
    expect(await document(hrOnly)).toEqual(before);
  });

  it('another tenant writing to its own collection of the same name reaches only its own', async () => {
    expect((await route.createCollection('handbook', route.keys.otherTenant)).status).toBe(201);
    const theirs = await add(
      { external_id: 'hr/leave', text: 'Their own leave policy.' },
      route.keys.otherTenant,
    );
    expect(theirs.status).toBe(202);
    expect(theirs.body.id).not.toBe(hrOnly);
    expect(await document(hrOnly)).toMatchObject({ status: 'queued', version: 1, acl: ['group:hr'] });
  });
});
