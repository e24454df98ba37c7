import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-program.js';

describe('rag search options', () => {
  it('sends re-rank, fusion, weights, filter and grouping as the API names them', async () => {
    const seen: unknown[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      seen.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify({ results: [], signals: [], took_ms: 1 }), { status: 200 });
    };
    const code = await runCli(
      [
        'search',
        '旅費',
        '-c',
        'handbook',
        '--rerank',
        'colbert',
        '--fusion',
        'rrf',
        '--weights',
        'dense=0.7,bm25=0.3',
        '--filter',
        '{"field":"lang","eq":"ja"}',
        '--group-by-document',
      ],
      {
        stdout: new Writable({ write: (_c, _e, done) => done() }),
        stderr: process.stderr,
        env: { RAG_API_KEY: 'k' },
        fetch,
      },
    );
    expect(code).toBe(0);
    expect(seen[0]).toEqual({
      collection: 'handbook',
      query: '旅費',
      top_k: 5,
      mode: 'hybrid',
      rerank: 'colbert',
      fusion: 'rrf',
      weights: { dense: 0.7, bm25: 0.3 },
      filter: { field: 'lang', eq: 'ja' },
      group_by_document: true,
    });
  });
});
