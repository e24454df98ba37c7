import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliSnippet, curlSnippet, sdkSnippet, shellQuote } from './request-snippets.js';

const request = {
  collection: 'handbook',
  query: "O'Brien の旅費",
  top_k: 5,
  mode: 'hybrid' as const,
  rerank: 'colbert' as const,
  fusion: 'rrf' as const,
  weights: { dense: 0.7, bm25: 0.3 },
  filter: { field: 'lang', eq: 'ja' },
  group_by_document: true,
};

/** What a POSIX shell makes of a command line: its words, as printf shows them one per line. */
function shellWords(line: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })
    .trimEnd()
    .split('\n');
}

describe('request snippets', () => {
  it('quotes any text for the shell, apostrophes included', () => {
    expect(shellWords(shellQuote("it's 旅費 $HOME `x`"))).toEqual(["it's 旅費 $HOME `x`"]);
  });

  it('sends the exact request body in curl and never the key', () => {
    const curl = curlSnippet('http://127.0.0.1:8080', request);
    const body = shellWords(
      curl
        .split('\n')
        .at(-1)!
        .replace(/^\s*-d /, ''),
    )[0]!;
    expect(JSON.parse(body)).toEqual(request);
    expect(curl).toContain('Bearer $RAG_API_KEY');
  });

  it('passes every setting to rag search as its flags', () => {
    const words = shellWords(cliSnippet('http://127.0.0.1:8080', request).replace(/\\\n/g, ' '));
    expect(words).toEqual([
      'RAG_URL=http://127.0.0.1:8080',
      'rag',
      'search',
      "O'Brien の旅費",
      '-c',
      'handbook',
      '-k',
      '5',
      '--mode',
      'hybrid',
      '--rerank',
      'colbert',
      '--fusion',
      'rrf',
      '--weights',
      'dense=0.7,bm25=0.3',
      '--filter',
      '{"field":"lang","eq":"ja"}',
      '--group-by-document',
    ]);
  });

  it('writes SDK code with the same request', () => {
    const code = sdkSnippet('http://127.0.0.1:8080', request);
    const literal = /rag\.search\(([\s\S]*?)\);\n/.exec(code)?.[1];
    expect(JSON.parse(literal!)).toEqual(request);
    expect(code).toContain('process.env.RAG_API_KEY');
  });
});
