import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-program.js';

/** Runs `rag` in-process against a fake gateway that answers each GET from `pages` by URL. */
async function rag(argv: string[], answer: (url: string) => unknown) {
  const urls: string[] = [];
  const fetch: typeof globalThis.fetch = async (input) => {
    urls.push(String(input));
    return new Response(JSON.stringify(answer(String(input))), { status: 200 });
  };
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await runCli(argv, {
    stdout: sink((t) => {
      out += t;
    }),
    stderr: sink((t) => {
      err += t;
    }),
    env: { RAG_API_KEY: 'rag_test' },
    fetch,
  });
  return { code, urls, out, err };
}

const doc = (id: string, externalId: string) => ({
  id,
  external_id: externalId,
  title: null,
  status: 'ready',
  chunks: 2,
  version: 1,
  content_hash: 'h',
  metadata: {},
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
});

describe('rag collections show / docs', () => {
  it('shows the counts by status, the chunks and the last change', async () => {
    const { code, out } = await rag(['collections', 'show', 'handbook'], () => ({
      name: 'handbook',
      created_at: '2025-01-01T00:00:00.000Z',
      model: null,
      model_manifest_hash: null,
      documents: { total: 3, queued: 0, processing: 1, ready: 2, failed: 0, deleting: 0 },
      chunks: 14,
      last_changed_at: '2025-01-02T00:00:00.000Z',
    }));
    expect(code).toBe(0);
    expect(out).toBe(
      'handbook\n  documents: 3 (1 processing, 2 ready)\n  chunks: 14\n  model: the default model\n  last change: 2025-01-02T00:00:00.000Z\n',
    );
  });

  it('follows the cursor until the limit, passing the filters', async () => {
    const { code, urls, out } = await rag(
      ['collections', 'docs', 'handbook', '--status', 'ready', '--prefix', 'policy/', '--limit', '3'],
      (url) =>
        url.includes('cursor=')
          ? { documents: [doc('d3', 'policy/c')], next_cursor: 'next2' }
          : { documents: [doc('d1', 'policy/a'), doc('d2', 'policy/b')], next_cursor: 'next1' },
    );
    expect(code).toBe(0);
    expect(urls).toEqual([
      'http://127.0.0.1:8080/v1/collections/handbook/documents?limit=3&status=ready&external_id_prefix=policy%2F',
      'http://127.0.0.1:8080/v1/collections/handbook/documents?limit=1&cursor=next1&status=ready&external_id_prefix=policy%2F',
    ]);
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[0]),
    ).toEqual(['d1', 'd2', 'd3']);
  });

  it('refuses an unknown status before asking the server', async () => {
    const { code, urls, err } = await rag(
      ['collections', 'docs', 'handbook', '--status', 'done'],
      () => ({}),
    );
    expect(code).not.toBe(0);
    expect(urls).toEqual([]);
    expect(err).toContain('unknown done');
  });
});
