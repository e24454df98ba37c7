import { collectionNameSchema, uuidSchema } from '@rag/contracts/identifiers';
import {
  collectionListSchema,
  createDocumentSchema,
  documentAcceptedSchema,
  documentChunksSchema,
  documentSchema,
  searchRequestSchema,
  searchResponseSchema,
} from '@rag/contracts/public-api';
import { z } from 'zod';
import { publicRoutes, type RouteDescription } from '../route-table.js';

/** A call of a public route, as a tool makes it through the same door as any client. */
export interface RouteCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

/**
 * One MCP tool: the public route it calls (whose entry in the route table gives its role, so the tool is
 * offered and allowed exactly when the route is), its input and output schemas from the REST contract, and
 * how its arguments become that route's request and the answer a text for the model.
 */
export interface McpTool {
  name: string;
  description: string;
  route: RouteDescription;
  input: z.ZodObject;
  output: z.ZodObject;
  call(args: Record<string, unknown>): RouteCall;
  /** A second route whose answer completes the first (a document's chunks), merged by `merge`. */
  also?: {
    call(args: Record<string, unknown>): RouteCall;
    merge(answer: Record<string, unknown>, more: Record<string, unknown>): Record<string, unknown>;
  };
  structured?(answer: Record<string, unknown>): Record<string, unknown>;
  text(answer: Record<string, unknown>): string;
}

function route(method: RouteDescription['method'], path: string): RouteDescription {
  const found = publicRoutes.find((r) => r.method === method && r.path === path);
  if (!found) throw new Error(`${method.toUpperCase()} ${path} is not in the route table`);
  return found;
}

const segment = encodeURIComponent;

type SearchAnswer = z.infer<typeof searchResponseSchema>;
type DocumentAnswer = z.infer<typeof documentSchema>;

function searchText(answer: SearchAnswer): string {
  if (answer.results.length === 0) return 'No results.';
  return answer.results
    .map((hit, index) => {
      const where = [
        hit.page === null ? null : `page ${hit.page}`,
        hit.heading_path.length > 0 ? hit.heading_path.join(' > ') : null,
      ].filter(Boolean);
      const name = [hit.title, hit.external_id].filter(Boolean).join(' — ') || hit.document_id;
      return (
        `${index + 1}. ${name} (score ${hit.score.toFixed(4)}${where.length ? `; ${where.join('; ')}` : ''})\n` +
        `   document_id: ${hit.document_id}\n${hit.text}`
      );
    })
    .join('\n\n');
}

const documentStatusSchema = documentSchema.pick({
  id: true,
  status: true,
  error: true,
  version: true,
  ready_version: true,
});

export const mcpTools: McpTool[] = [
  {
    name: 'search',
    description:
      'Search a collection (hybrid by default: dense + lexical). Each hit has the document id, external_id, ' +
      'title, heading path, page, score and the chunk text, for citations.',
    route: route('post', '/v1/search'),
    input: searchRequestSchema,
    output: searchResponseSchema,
    call: (args) => ({ method: 'POST', path: '/v1/search', body: args }),
    text: (answer) => searchText(answer as SearchAnswer),
  },
  {
    name: 'list_collections',
    description: 'The collections this credential may search.',
    route: route('get', '/v1/collections'),
    input: z.object({}),
    output: collectionListSchema,
    call: () => ({ method: 'GET', path: '/v1/collections' }),
    text: (answer) =>
      (answer as z.infer<typeof collectionListSchema>).collections.map((c) => c.name).join('\n') ||
      'No collections.',
  },
  {
    name: 'get_document',
    description:
      "A document's metadata and its first chunks in reading order, by its id (the document_id of a search " +
      'hit), to read around a hit.',
    route: route('get', '/v1/documents/{id}'),
    input: z.object({ id: uuidSchema, chunks: z.number().int().min(0).max(100).default(20) }),
    output: documentSchema.extend({ chunks: documentChunksSchema.shape.chunks }),
    call: (args) => ({ method: 'GET', path: `/v1/documents/${segment(String(args.id))}` }),
    also: {
      call: (args) => ({
        method: 'GET',
        path: `/v1/documents/${segment(String(args.id))}/chunks?limit=${Math.max(1, Number(args.chunks ?? 20))}`,
      }),
      merge: (answer, more) => ({ ...answer, chunks: (more as z.infer<typeof documentChunksSchema>).chunks }),
    },
    text: (answer) => {
      const { chunks, ...document } = answer as DocumentAnswer & z.infer<typeof documentChunksSchema>;
      return `${JSON.stringify(document, null, 2)}\n\n${chunks.map((chunk) => chunk.text).join('\n\n')}`;
    },
  },
  {
    name: 'document_status',
    description: 'Whether a document is queued, processing, ready or failed (with the reason).',
    route: route('get', '/v1/documents/{id}'),
    input: z.object({ id: uuidSchema }),
    output: documentStatusSchema,
    call: (args) => ({ method: 'GET', path: `/v1/documents/${segment(String(args.id))}` }),
    structured: (answer) => {
      const { id, status, error, version, ready_version } = answer as DocumentAnswer;
      return { id, status, version, ...(error === undefined ? {} : { error }), ready_version };
    },
    text: (answer) => {
      const document = answer as DocumentAnswer;
      return `${document.status}${document.error ? `: ${document.error}` : ''} (version ${document.version})`;
    },
  },
  {
    name: 'add_document',
    description:
      'Add a text or Markdown document to a collection (the same external_id with other text becomes its ' +
      'next version). The server never fetches URLs.',
    route: route('post', '/v1/collections/{name}/documents'),
    input: createDocumentSchema.extend({ collection: collectionNameSchema }),
    output: documentAcceptedSchema,
    call: ({ collection, ...document }) => ({
      method: 'POST',
      path: `/v1/collections/${segment(String(collection))}/documents`,
      body: document,
    }),
    text: (answer) => {
      const accepted = answer as z.infer<typeof documentAcceptedSchema>;
      return `Document ${accepted.id} version ${accepted.version}: ${accepted.status}`;
    },
  },
];
