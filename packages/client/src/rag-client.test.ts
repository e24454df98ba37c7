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
    const { fetch } = fakeFetch([{ status: 200, body: { collections: [{ name: 'docs' }] } }]);
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
