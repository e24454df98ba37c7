import { describe, expect, it } from 'vitest';
import { type AnswerInfo, createRagClient } from './rag-client.js';

/** A fetch that records each request and answers one JSON body. */
function answering(body: unknown, headers: Record<string, string> = {}) {
  const seen: { method: string; url: string; body: RequestInit['body'] }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    seen.push({ method: init?.method ?? 'GET', url: String(input), body: init?.body });
    return new Response(JSON.stringify(body), { status: 202, headers });
  };
  return { fetch, seen };
}

describe('the credential', () => {
  it('asks a credential function before every request, so a refreshed token is sent from then on', async () => {
    const sent: (string | null)[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      sent.push(new Headers(init?.headers).get('authorization'));
      return new Response(JSON.stringify({ collections: [] }), { status: 200 });
    };
    let token = 'first.jwt.token';
    const client = createRagClient({ baseUrl: 'http://gw', apiKey: () => token, fetch });
    await client.listCollections();
    token = 'second.jwt.token';
    await client.listCollections();
    expect(sent).toEqual(['Bearer first.jwt.token', 'Bearer second.jwt.token']);
  });
});

describe('listing, summaries and in-memory uploads', () => {
  it('asks for a page of documents with its filters in the query', async () => {
    const { fetch, seen } = answering({ documents: [], next_cursor: null });
    const client = createRagClient({ baseUrl: 'http://gw', apiKey: 'k', fetch });
    const page = await client.listDocuments('hand book', {
      limit: 5,
      cursor: 'abc',
      status: ['ready', 'failed'],
      external_id_prefix: 'policy/',
    });
    expect(page).toEqual({ documents: [], next_cursor: null });
    expect(seen[0]?.url).toBe(
      'http://gw/v1/collections/hand%20book/documents?limit=5&cursor=abc&status=ready%2Cfailed&external_id_prefix=policy%2F',
    );
  });

  it('uploads a Blob as multipart with the document fields, reports progress and each answer', async () => {
    const { fetch, seen } = answering(
      { id: 'd1', version: 1, status: 'queued', status_url: '/v1/documents/d1' },
      { 'server-timing': 'gateway;dur=1.00' },
    );
    const answers: AnswerInfo[] = [];
    const client = createRagClient({
      baseUrl: 'http://gw',
      apiKey: 'k',
      fetch,
      onAnswer: (answer) => answers.push(answer),
    });
    const progress: number[][] = [];
    const added = await client.uploadBlob('handbook', {
      file: new Blob(['規程の本文'], { type: 'text/plain' }),
      filename: '規程.txt',
      title: '旅費規程',
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    expect(added).toMatchObject({ id: 'd1', unchanged: false });
    const form = seen[0]?.body as FormData;
    expect(JSON.parse(String(form.get('document')))).toEqual({ title: '旅費規程' });
    expect((form.get('file') as File).name).toBe('規程.txt');
    expect(progress.at(-1)?.[0]).toBe(progress.at(-1)?.[1]);
    expect(answers.map((a) => [a.path, a.status, a.header('server-timing')])).toEqual([
      ['/v1/collections/handbook/documents', 202, 'gateway;dur=1.00'],
    ]);
  });

  it("reads a collection's move to another model, and a gateway that leaves it out as none", async () => {
    const reindex = {
      id: 'r1',
      state: 'running',
      from_model: 'model-a',
      to_model: 'model-b',
      documents: { done: 3, total: 10 },
      started_at: '2025-01-01T00:00:00.000Z',
      finished_at: null,
      error: null,
    };
    const summary = {
      name: 'docs',
      created_at: '2025-01-01T00:00:00.000Z',
      model: 'model-a',
      model_manifest_hash: 'a'.repeat(64),
      documents: { total: 10, queued: 0, processing: 0, ready: 10, failed: 0, deleting: 0 },
      chunks: 20,
      last_changed_at: null,
    };
    const moving = createRagClient({
      baseUrl: 'http://gw',
      apiKey: 'k',
      ...answering({ ...summary, reindex }),
    });
    expect((await moving.getCollection('docs')).reindex).toEqual(reindex);
    const older = createRagClient({ baseUrl: 'http://gw', apiKey: 'k', ...answering(summary) });
    expect((await older.getCollection('docs')).reindex).toBeNull();
  });

  it('lists the served models', async () => {
    const model = {
      id: 'model-b',
      object: 'model',
      created: 0,
      owned_by: 'rag-system',
      dimensions: 48,
      max_input_tokens: 512,
      outputs: ['dense'],
      manifest_hash: 'b'.repeat(64),
      default: false,
    };
    const { fetch, seen } = answering({ object: 'list', data: [model] });
    const client = createRagClient({ baseUrl: 'http://gw', apiKey: 'k', fetch });
    expect((await client.listModels()).data).toEqual([model]);
    expect(seen.map((r) => [r.method, r.url])).toEqual([['GET', 'http://gw/v1/models']]);
  });
});
