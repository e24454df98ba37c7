import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRagApiError, type RagApiError } from './rag-api-error.js';
import { createRagClient } from './rag-client.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that records each request and answers from a list, in order. */
function fakeFetch(answers: Array<{ status: number; body?: unknown; headers?: Record<string, string> }>) {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    seen.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: init?.headers as Record<string, string>,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: answer.headers ?? {},
    });
  };
  return { fetch, seen };
}

async function failure(promise: Promise<unknown>): Promise<RagApiError> {
  try {
    await promise;
  } catch (error) {
    if (isRagApiError(error)) return error;
    throw error;
  }
  throw new Error('expected a RagApiError');
}

const documentBody = {
  id: '3f1c2b9e-8d4a-4c6b-9f1e-2a3b4c5d6e7f',
  external_id: 'a.md',
  title: 'A',
  status: 'ready',
  chunks: 1,
  version: 1,
  content_hash: 'abc',
  metadata: {},
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
};

describe('createRagClient', () => {
  it('sends the key, the JSON body and the path, and returns the validated answer', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 200, body: { results: [], signals: ['dense', 'sparse'], took_ms: 3 } },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test/', apiKey: 'rag_k', fetch });
    const answer = await client.search({ collection: 'docs', query: 'hello', top_k: 3 });
    expect(answer.signals).toEqual(['dense', 'sparse']);
    expect(seen).toEqual([
      {
        method: 'POST',
        url: 'http://gw.test/v1/search',
        headers: expect.objectContaining({
          authorization: 'Bearer rag_k',
          'content-type': 'application/json',
        }),
        body: { collection: 'docs', query: 'hello', top_k: 3 },
      },
    ]);
  });

  it('encodes path segments and the tenant filter', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 200, body: { keys: [] } },
      { status: 200, body: { keys: [] } },
      { status: 200, body: { id: 'k/1', revoked_at: '2025-01-01T00:00:00.000Z' } },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    await client.listApiKeys();
    await client.listApiKeys({ tenant: 'a&b' });
    await client.revokeApiKey('k/1');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET http://gw.test/v1/api-keys',
      'GET http://gw.test/v1/api-keys?tenant=a%26b',
      'DELETE http://gw.test/v1/api-keys/k%2F1',
    ]);
  });

  it('changes the fields of a document with PATCH and returns the document', async () => {
    const { fetch, seen } = fakeFetch([{ status: 200, body: { ...documentBody, title: 'B' } }]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const updated = await client.updateDocument(documentBody.id, { title: 'B', acl: null });
    expect(updated.title).toBe('B');
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'PATCH',
        url: `http://gw.test/v1/documents/${documentBody.id}`,
        body: { title: 'B', acl: null },
      }),
    ]);
  });

  it('tells a new document from an unchanged one by the status code', async () => {
    const accepted = { id: documentBody.id, version: 1, status_url: `/v1/documents/${documentBody.id}` };
    const { fetch } = fakeFetch([
      { status: 202, body: { ...accepted, status: 'queued' } },
      { status: 200, body: { ...accepted, status: 'ready' } },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const doc = { external_id: 'a.md', text: 'hello' };
    expect(await client.addDocument('docs', doc)).toMatchObject({ status: 'queued', unchanged: false });
    expect(await client.addDocument('docs', doc)).toMatchObject({ status: 'ready', unchanged: true });
  });

  it('throws the problem of a non-2xx answer', async () => {
    const { fetch } = fakeFetch([
      {
        status: 422,
        body: {
          type: 'about:blank',
          title: 'Validation failed',
          status: 422,
          detail: 'Invalid request',
          code: 'validation_failed',
          request_id: 'req-1',
          errors: [{ path: 'name', message: 'too short' }],
        },
      },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const error = await failure(client.createCollection({ name: '' }));
    expect(error).toMatchObject({
      status: 422,
      code: 'validation_failed',
      detail: 'Invalid request',
      requestId: 'req-1',
      errors: [{ path: 'name', message: 'too short' }],
    });
  });

  it('keeps the text and the request id header of an answer that is not a problem', async () => {
    const fetch: typeof globalThis.fetch = async () =>
      new Response('Bad gateway', { status: 502, headers: { 'x-request-id': 'req-2' } });
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const error = await failure(client.listCollections());
    expect(error).toMatchObject({ status: 502, code: 'http_502', requestId: 'req-2' });
    expect(error.detail).toContain('Bad gateway');
  });

  it('fails loudly when an answer drifts from the contract', async () => {
    const { fetch } = fakeFetch([
      { status: 200, body: { collections: [{ name: 'docs', model: null, model_manifest_hash: null }] } },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const error = await failure(client.listCollections());
    expect(error.code).toBe('unexpected_response');
    expect(error.errors.map((e) => e.path)).toEqual(['collections.0.created_at']);
  });

  it('reports an unreachable gateway with the code network', async () => {
    const client = createRagClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' });
    const error = await failure(client.listCollections());
    expect(error).toMatchObject({ status: 0, code: 'network' });
    expect(error.requestId).toBeUndefined();
  });

  it('reports a gateway that does not answer in time with the code timeout', async () => {
    const fetch: typeof globalThis.fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch, timeoutMs: 20 });
    expect((await failure(client.listCollections())).code).toBe('timeout');
  });

  it('polls a document until it reaches an awaited status', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 200, body: { ...documentBody, status: 'queued' } },
      { status: 200, body: { ...documentBody, status: 'processing' } },
      { status: 200, body: { ...documentBody, status: 'failed', error: 'model error' } },
    ]);
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const document = await client.waitForDocument(documentBody.id, { intervalMs: 1 });
    expect(document).toMatchObject({ status: 'failed', error: 'model error' });
    expect(seen).toHaveLength(3);
  });

  it('gives up waiting after the timeout', async () => {
    const fetch: typeof globalThis.fetch = async () =>
      new Response(JSON.stringify({ ...documentBody, status: 'processing' }), { status: 200 });
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch });
    const error = await failure(
      client.waitForDocument(documentBody.id, { statuses: ['ready'], timeoutMs: 30, intervalMs: 5 }),
    );
    expect(error.code).toBe('timeout');
    expect(error.detail).toContain('still processing');
  });
});

const problem = (status: number, code: string) => ({
  type: 'about:blank',
  title: code,
  status,
  detail: `${code} detail`,
  code,
  request_id: 'req',
});
const collections = {
  collections: [
    { name: 'docs', created_at: '2025-01-01T00:00:00.000Z', model: null, model_manifest_hash: null },
  ],
};

describe('retries', () => {
  it('sends a request turned away with 429 or 503 again after Retry-After, with jitter on top', async () => {
    const { fetch, seen } = fakeFetch([
      { status: 429, body: problem(429, 'rate_limited'), headers: { 'retry-after': '2' } },
      { status: 503, body: problem(503, 'unavailable'), headers: { 'retry-after': '1' } },
      { status: 200, body: collections },
    ]);
    const waits: number[] = [];
    const client = createRagClient({
      baseUrl: 'http://gw.test',
      apiKey: 'k',
      fetch,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect((await client.listCollections()).collections).toHaveLength(1);
    expect(seen).toHaveLength(3);
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
    expect(waits[0]).toBeLessThanOrEqual(2500);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThanOrEqual(1250);
  });

  it('gives up after the bounded number of tries and never retries other errors', async () => {
    const busy = Array.from({ length: 3 }, () => ({ status: 429, body: problem(429, 'rate_limited') }));
    const { fetch, seen } = fakeFetch([...busy, { status: 409, body: problem(409, 'conflict') }]);
    const client = createRagClient({
      baseUrl: 'http://gw.test',
      apiKey: 'k',
      fetch,
      retry: { attempts: 3, maxDelayMs: 5 },
      sleep: async () => {},
    });
    expect(await failure(client.listCollections())).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(seen).toHaveLength(3);
    expect(await failure(client.createCollection({ name: 'docs' }))).toMatchObject({ status: 409 });
    expect(seen).toHaveLength(4);
  });

  it('keeps polling a document through answers that never came, and only the server says failed', async () => {
    let polls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      polls++;
      if (polls === 1) throw new TypeError('fetch failed');
      if (polls === 2) return new Response('upstream down', { status: 502 });
      return new Response(JSON.stringify({ ...documentBody, status: polls === 3 ? 'processing' : 'ready' }), {
        status: 200,
      });
    };
    const unanswered: string[] = [];
    const client = createRagClient({ baseUrl: 'http://gw.test', apiKey: 'k', fetch, sleep: async () => {} });
    const document = await client.waitForDocument(documentBody.id, {
      intervalMs: 1,
      onUnanswered: (error) => unanswered.push(error.code),
    });
    expect(document.status).toBe('ready');
    expect(unanswered).toEqual(['network', 'http_502']);
  });
});

describe('uploadDocument', () => {
  it('streams the file as multipart with the fields as JSON, and streams it again when turned away', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'rag-client-upload-'));
    try {
      const path = join(folder, 'report 2024.pdf');
      const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(300_000, 7)]);
      await writeFile(path, bytes);
      const received: Array<{ fields: Record<string, string>; name: string; size: number; equal: boolean }> =
        [];
      let calls = 0;
      const fetch: typeof globalThis.fetch = async (input, init) => {
        calls++;
        const form = await new Request(String(input), init as RequestInit).formData();
        const file = form.get('file') as File;
        const fileBytes = Buffer.from(await file.arrayBuffer());
        received.push({
          fields: Object.fromEntries([...form.entries()].filter(([name]) => name !== 'file')) as Record<
            string,
            string
          >,
          name: file.name,
          size: fileBytes.length,
          equal: fileBytes.equals(bytes),
        });
        if (calls === 1)
          return new Response(JSON.stringify(problem(429, 'rate_limited')), {
            status: 429,
            headers: { 'retry-after': '0' },
          });
        return new Response(
          JSON.stringify({
            id: documentBody.id,
            version: 1,
            status: 'queued',
            status_url: '/v1/documents/x',
          }),
          { status: 202 },
        );
      };
      const progress: number[] = [];
      const client = createRagClient({
        baseUrl: 'http://gw.test',
        apiKey: 'k',
        fetch,
        sleep: async () => {},
      });
      const accepted = await client.uploadDocument('docs', {
        path,
        external_id: 'reports/report 2024.pdf',
        metadata: { year: 2024 },
        onProgress: (sent) => progress.push(sent),
      });
      expect(accepted).toMatchObject({ status: 'queued', unchanged: false });
      expect(received).toHaveLength(2);
      for (const upload of received) {
        expect(upload).toMatchObject({ name: 'report 2024.pdf', size: bytes.length, equal: true });
        expect(JSON.parse(upload.fields.document ?? '{}')).toEqual({
          external_id: 'reports/report 2024.pdf',
          metadata: { year: 2024 },
        });
      }
      expect(progress.at(-1)).toBeGreaterThan(bytes.length);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
