import type { SearchRequest } from '@rag/client/rag-client';

/**
 * A playground search as something to paste elsewhere: curl, the `rag` CLI and the TypeScript SDK. The
 * credential is never written out: each snippet reads it from RAG_API_KEY.
 */

/** A POSIX shell single-quoted word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function curlSnippet(baseUrl: string, request: SearchRequest): string {
  return [
    `curl -s ${shellQuote(`${baseUrl}/v1/search`)} \\`,
    `  -H "Authorization: Bearer $RAG_API_KEY" \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(request))}`,
  ].join('\n');
}

export function cliSnippet(baseUrl: string, request: SearchRequest): string {
  const args = [
    `RAG_URL=${shellQuote(baseUrl)} rag search ${shellQuote(request.query)}`,
    `-c ${shellQuote(request.collection)}`,
  ];
  if (request.top_k !== undefined) args.push(`-k ${request.top_k}`);
  if (request.mode !== undefined) args.push(`--mode ${request.mode}`);
  if (request.rerank !== undefined && request.rerank !== 'none') args.push(`--rerank ${request.rerank}`);
  if (request.fusion !== undefined) args.push(`--fusion ${request.fusion}`);
  if (request.weights !== undefined) {
    const pairs = Object.entries(request.weights).map(([signal, weight]) => `${signal}=${weight}`);
    if (pairs.length > 0) args.push(`--weights ${pairs.join(',')}`);
  }
  if (request.filter !== undefined) args.push(`--filter ${shellQuote(JSON.stringify(request.filter))}`);
  if (request.group_by_document) args.push('--group-by-document');
  return args.join(' \\\n  ');
}

export function sdkSnippet(baseUrl: string, request: SearchRequest): string {
  return [
    "import { createRagClient } from '@rag/client/rag-client';",
    '',
    `const rag = createRagClient({ baseUrl: ${JSON.stringify(baseUrl)}, apiKey: process.env.RAG_API_KEY! });`,
    `const answer = await rag.search(${JSON.stringify(request, null, 2)});`,
    'for (const hit of answer.results) console.log(hit.score, hit.title, hit.scores, hit.ranks);',
  ].join('\n');
}
