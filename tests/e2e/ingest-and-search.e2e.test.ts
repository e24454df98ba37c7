import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The walking skeleton, end to end: the four services run as processes on the real PostgreSQL, Redis,
 * Milvus Lite and ONNX Runtime (with the generated BGE-M3-shaped model), and everything goes through the
 * gateway's public HTTP API.
 */

let stack: Stack;
let modelDir: string;
let call: Stack['call'];
let waitForStatus: Stack['waitForStatus'];

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    gatewayEnv: { INGEST_BACKOFF_MS: '200', BODY_LIMIT: '64kb' },
  });
  ({ call, waitForStatus } = stack);
});

afterAll(async () => {
  // Each service must shut down cleanly on SIGTERM.
  const exitCodes = await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  expect(exitCodes).toEqual(exitCodes?.map(([name]) => [name, 0]));
});

async function countDocuments(): Promise<number> {
  const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM documents');
  return rows[0].n;
}

describe('every service', () => {
  it('answers /health publicly, and readiness and Prometheus text only on the management port', async () => {
    for (const service of stack.services) {
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(404);
      expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${service.managementUrl}/health/ready`)).status).toBe(200);
      const metrics = await fetch(`${service.managementUrl}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^# HELP /m);
      expect(text).toMatch(/^process_cpu_user_seconds_total\{service="[a-z-]+"\} \d/m);
    }
  });
});

describe('internal services', () => {
  it('refuse calls without the service token, so an exposed port does not bypass the gateway', async () => {
    const [embedding, search] = stack.services;
    const attempts = [
      { url: `${embedding!.url}/v1/embed`, body: { texts: ['x'] } },
      { url: `${search!.url}/v1/search`, body: {} },
    ];
    for (const { url, body } of attempts) {
      for (const headers of [{}, { 'x-service-token': 'wrong-token-of-a-reasonable-length-000000' }]) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
        expect(response.status, url).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    }
    // Probes stay open for the orchestrator.
    expect((await fetch(`${search!.url}/health`)).status).toBe(200);
  });
});

describe('the OpenAPI description', () => {
  it('is served without a credential, and every route it lists is served', async () => {
    const response = await fetch(`${stack.services.at(-1)!.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe('3.1.0');
    for (const [template, operations] of Object.entries(document.paths)) {
      const path = template
        .replace('{name}', 'no-such-collection')
        .replace('{id}', '00000000-0000-4000-8000-000000000000');
      for (const method of Object.keys(operations)) {
        const { body } = await call(
          method.toUpperCase(),
          path,
          method === 'get' || method === 'delete' ? {} : { body: {} },
        );
        expect(body.detail ?? '', `${method} ${template}`).not.toMatch(/^No route for/);
      }
    }
  });
});

describe('the path through the gateway', () => {
  let acmeAdmin: string;
  let acmeReader: string;
  const docs: Record<string, string> = {};

  it('creates a tenant, keys and a collection', async () => {
    expect((await call('POST', '/v1/tenants', { body: { id: 'acme', name: 'Acme' } })).status).toBe(201);
    const admin = await call('POST', '/v1/api-keys', { body: { tenant: 'acme', role: 'admin' } });
    expect(admin.status).toBe(201);
    expect(admin.body.key).toMatch(/^rag_[a-z0-9]{8}_/);
    acmeAdmin = admin.body.key;
    const reader = await call('POST', '/v1/api-keys', {
      key: acmeAdmin,
      body: { tenant: 'acme', role: 'reader' },
    });
    expect(reader.status).toBe(201);
    acmeReader = reader.body.key;
    // A stored key is only a hash: the plain key is nowhere in the database.
    const { rows } = await stack.db.query('SELECT key_hash, prefix FROM api_keys');
    expect(rows.map((r) => r.key_hash)).not.toContain(acmeAdmin);
    expect(
      (await call('POST', '/v1/collections', { key: acmeAdmin, body: { name: 'handbook' } })).status,
    ).toBe(201);
    const list = await call('GET', '/v1/collections', { key: acmeReader });
    expect(list.body.collections.map((c: { name: string }) => c.name)).toEqual(['handbook']);
  });

  it('ingests documents through the queue until they are ready', async () => {
    const texts = {
      vacuum:
        'Empty the dust bin after every cleaning run and rinse the washable filter once a week with cold water.',
      sourdough: 'Feed the sourdough starter with flour and water the evening before baking the bread.',
      travel:
        'Book flights and hotels through the corporate travel tool at least fourteen days before departure.',
    };
    for (const [name, text] of Object.entries(texts)) {
      const response = await call('POST', '/v1/collections/handbook/documents', {
        key: acmeAdmin,
        body: { external_id: name, title: `About ${name}`, text, metadata: { topic: name } },
      });
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({
        status: 'queued',
        version: 1,
        status_url: `/v1/documents/${response.body.id}`,
      });
      docs[name] = response.body.id;
    }
    for (const id of Object.values(docs)) {
      const document = await waitForStatus(id, acmeReader, ['ready', 'failed']);
      expect(document).toMatchObject({ status: 'ready', chunks: 1, version: 1 });
    }
  });

  it('carries the trace of the caller through the queue into the worker and the embedding service', async () => {
    const traceId = randomBytes(16).toString('hex');
    const response = await call('POST', '/v1/collections/handbook/documents', {
      key: acmeAdmin,
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: { text: 'A short note about tracing requests across services.' },
    });
    expect(response.status).toBe(202);
    await waitForStatus(response.body.id, acmeAdmin, ['ready']);
    const logLines = (name: string) =>
      stack.services
        .find((s) => s.name === name)!
        .output(400)
        .split('\n')
        .filter((line) => line.includes(traceId));
    // The worker writes "job done" after the job's last step, a moment after the document reads ready.
    const logged = (name: string, text: string) =>
      vi.waitFor(() => expect(logLines(name).some((line) => line.includes(text))).toBe(true), {
        timeout: 10_000,
        interval: 100,
      });
    await logged('gateway', '"msg":"request"');
    await logged('ingest-worker', '"msg":"job done"');
    await logged('embedding-service', '"path":"/v1/embed"');
    await call('DELETE', `/v1/documents/${response.body.id}`, { key: acmeAdmin });
    await waitForStatus(response.body.id, acmeAdmin, ['gone']);
  });

  it('returns the document a phrase comes from first, with the result shape of the API', async () => {
    const { status, body } = await call('POST', '/v1/search', {
      key: acmeReader,
      body: { collection: 'handbook', query: 'rinse the washable filter with cold water' },
    });
    expect(status).toBe(200);
    expect(body.signals).toEqual(['dense', 'sparse', 'bm25']);
    expect(body.results[0]).toMatchObject({
      document_id: docs.vacuum,
      external_id: 'vacuum',
      title: 'About vacuum',
      metadata: { topic: 'vacuum' },
    });
    expect(body.results[0].text).toContain('washable filter');
    expect(body.results[0].highlights.length).toBeGreaterThan(0);
    expect(typeof body.took_ms).toBe('number');
    const dense = await call('POST', '/v1/search', {
      key: acmeReader,
      body: { collection: 'handbook', query: 'sourdough starter flour', mode: 'dense', top_k: 1 },
    });
    expect(dense.body.results.map((r: { document_id: string }) => r.document_id)).toEqual([docs.sourdough]);
  });

  it('re-sending the same document is a no-op; other content under the same id is its next version', async () => {
    const same = await call('POST', '/v1/collections/handbook/documents', {
      key: acmeAdmin,
      body: {
        external_id: 'travel',
        text: 'Book flights and hotels through the corporate travel tool at least fourteen days before departure.',
      },
    });
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(docs.travel);
    const other = await call('POST', '/v1/collections/handbook/documents', {
      key: acmeAdmin,
      body: { external_id: 'travel', text: 'Something else entirely.' },
    });
    expect(other.status).toBe(202);
    expect(other.body).toMatchObject({ id: docs.travel, version: 2 });
    expect(await waitForStatus(docs.travel!, acmeAdmin, ['ready'])).toMatchObject({
      version: 2,
      ready_version: 2,
    });
  });

  it('marks a document with nothing to index as failed, with the reason', async () => {
    const response = await call('POST', '/v1/collections/handbook/documents', {
      key: acmeAdmin,
      body: { text: '\u200B\u200B\u200B' },
    });
    expect(response.status).toBe(202);
    const document = await waitForStatus(response.body.id, acmeAdmin, ['failed', 'ready']);
    expect(document.status).toBe('failed');
    expect(document.error).toMatch(/no (indexable|extractable) text/);
  });

  it('keeps tenants apart and enforces roles', async () => {
    expect((await call('POST', '/v1/tenants', { body: { id: 'globex' } })).status).toBe(201);
    const globex = (await call('POST', '/v1/api-keys', { body: { tenant: 'globex', role: 'admin' } })).body
      .key;
    expect((await call('GET', `/v1/documents/${docs.vacuum}`, { key: globex })).status).toBe(404);
    expect((await call('DELETE', `/v1/documents/${docs.vacuum}`, { key: globex })).status).toBe(404);
    expect((await call('POST', '/v1/collections', { key: globex, body: { name: 'handbook' } })).status).toBe(
      201,
    );
    const search = await call('POST', '/v1/search', {
      key: globex,
      body: { collection: 'handbook', query: 'rinse the washable filter with cold water' },
    });
    expect(search.status).toBe(200);
    expect(search.body.results).toEqual([]);
    expect(
      (await call('POST', '/v1/api-keys', { key: globex, body: { tenant: 'acme', role: 'admin' } })).status,
    ).toBe(403);
    const write = await call('POST', '/v1/collections/handbook/documents', {
      key: acmeReader,
      body: { text: 'x' },
    });
    expect(write.status).toBe(403);
    expect(write.type).toMatch(/^application\/problem\+json/);
  });

  it('limits a key scoped to some collections to those', async () => {
    expect(
      (await call('POST', '/v1/collections', { key: acmeAdmin, body: { name: 'private' } })).status,
    ).toBe(201);
    const secret = await call('POST', '/v1/collections/private/documents', {
      key: acmeAdmin,
      body: { text: 'Board minutes: the merger stays confidential until the announcement.' },
    });
    await waitForStatus(secret.body.id, acmeAdmin, ['ready']);
    const scoped = await call('POST', '/v1/api-keys', {
      key: acmeAdmin,
      body: { tenant: 'acme', role: 'reader', collections: ['handbook'] },
    });
    const key = scoped.body.key;
    const names = (await call('GET', '/v1/collections', { key })).body.collections.map(
      (c: { name: string }) => c.name,
    );
    expect(names).toEqual(['handbook']);
    expect(
      (await call('POST', '/v1/search', { key, body: { collection: 'handbook', query: 'travel' } })).status,
    ).toBe(200);
    expect(
      (await call('POST', '/v1/search', { key, body: { collection: 'private', query: 'merger' } })).status,
    ).toBe(404);
    expect((await call('GET', `/v1/documents/${secret.body.id}`, { key })).status).toBe(404);
  });

  it('deletes a document from PostgreSQL and Milvus', async () => {
    const response = await call('DELETE', `/v1/documents/${docs.vacuum}`, { key: acmeAdmin });
    expect(response.status).toBe(202);
    await waitForStatus(docs.vacuum!, acmeAdmin, ['gone']);
    const search = await call('POST', '/v1/search', {
      key: acmeReader,
      body: { collection: 'handbook', query: 'rinse the washable filter with cold water', top_k: 10 },
    });
    expect(search.body.results.map((r: { document_id: string }) => r.document_id)).not.toContain(docs.vacuum);
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM chunks WHERE document_id = $1', [
      docs.vacuum,
    ]);
    expect(rows[0].n).toBe(0);
    const model = (await (
      await fetch(`${stack.services[0]!.url}/v1/model`, {
        headers: { 'x-service-token': stack.serviceToken },
      })
    ).json()) as {
      name: string;
      dim: number;
    };
    const collectionId = (
      await stack.db.query("SELECT id FROM collections WHERE tenant_id = 'acme' AND name = 'handbook'")
    ).rows[0].id;
    const store = createMilvusStore({
      address: stack.milvus.address,
      collectionPrefix: stack.milvusPrefix,
      space: { model: model.name, dim: model.dim, hasSparse: true },
    });
    try {
      const scope = { tenantId: 'acme', collectionId };
      expect(await store.countByDocument(scope, docs.vacuum!)).toBe(0);
      expect(await store.countByDocument(scope, docs.sourdough!)).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('collections', () => {
  it('deletes a collection with its documents, everywhere', async () => {
    expect((await call('POST', '/v1/collections', { body: { name: 'scratch' } })).status).toBe(201);
    const added = await call('POST', '/v1/collections/scratch/documents', {
      body: { text: 'Temporary notes about the quarterly planning offsite in the mountains.' },
    });
    await waitForStatus(added.body.id, undefined, ['ready']);
    const deleted = await call('DELETE', '/v1/collections/scratch');
    expect(deleted.status).toBe(202);
    // Gone from listings and searches at once, from storage once the worker is done.
    const names = (await call('GET', '/v1/collections')).body.collections.map(
      (c: { name: string }) => c.name,
    );
    expect(names).not.toContain('scratch');
    expect(
      (await call('POST', '/v1/search', { body: { collection: 'scratch', query: 'offsite' } })).status,
    ).toBe(404);
    await waitForStatus(added.body.id, undefined, ['gone']);
    const { rows } = await stack.db.query(
      "SELECT count(*)::int AS n FROM collections WHERE name = 'scratch'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses a duplicate name and a reader creating one', async () => {
    expect((await call('POST', '/v1/collections', { body: { name: 'dupe' } })).status).toBe(201);
    expect((await call('POST', '/v1/collections', { body: { name: 'dupe' } })).status).toBe(409);
    expect((await call('POST', '/v1/collections', { body: { name: 'Bad Name!' } })).status).toBe(422);
  });
});

describe('bad input', () => {
  const validDocument = { text: 'A perfectly fine document.' };

  it.each([
    ['no credential', 401, { key: null, body: validDocument }],
    [
      'a wrong credential',
      401,
      { key: 'rag_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', body: validDocument },
    ],
    ['an unknown collection', 404, { body: validDocument, path: '/v1/collections/nope/documents' }],
    [
      'a hostile collection name',
      404,
      { body: validDocument, path: "/v1/collections/x'%20or%201=1/documents" },
    ],
    ['empty text', 422, { body: { text: '' } }],
    ['whitespace-only text', 422, { body: { text: ' \n\t ' } }],
    ['text of the wrong type', 422, { body: { text: 42 } }],
    ['an unknown field', 422, { body: { ...validDocument, colour: 'red' } }],
    ['malformed JSON', 400, { raw: '{"text": "unterminated' }],
    ['a body over the limit', 413, { body: { text: 'x'.repeat(70_000) } }],
    ['a form body', 415, { raw: 'text=hello', contentType: 'application/x-www-form-urlencoded' }],
  ] as const)('answers %s with a problem+json %i and stores nothing', async (_name, expected, request) => {
    await call('POST', '/v1/collections', { body: { name: 'inbox' } });
    const before = await countDocuments();
    const { status, type, body } = await call(
      'POST',
      'path' in request ? request.path : '/v1/collections/inbox/documents',
      {
        ...request,
      },
    );
    expect(status).toBe(expected);
    expect(type).toMatch(/^application\/problem\+json/);
    expect(body).toMatchObject({
      status: expected,
      request_id: expect.any(String),
      detail: expect.any(String),
    });
    expect(await countDocuments()).toBe(before);
  });

  it('names the offending field', async () => {
    const { body } = await call('POST', '/v1/search', {
      body: { collection: 'inbox', query: 'q', top_k: 0 },
    });
    expect(body.status).toBe(422);
    expect(body.errors).toEqual([expect.objectContaining({ path: 'top_k' })]);
  });
});
