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
});
