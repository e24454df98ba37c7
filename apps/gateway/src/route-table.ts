import { tenantIdSchema } from '@rag/contracts/identifiers';
import {
  openAiEmbeddingsRequestSchema,
  openAiEmbeddingsResponseSchema,
  openAiModelListSchema,
} from '@rag/contracts/openai-embeddings';
import {
  apiKeyInfoSchema,
  apiKeyListSchema,
  batchDocumentsResponseSchema,
  batchDocumentsSchema,
  collectionDeletionSchema,
  collectionListSchema,
  collectionSchema,
  collectionSummarySchema,
  createApiKeySchema,
  createCollectionSchema,
  createDocumentSchema,
  createdApiKeySchema,
  createTenantSchema,
  credentialSchema,
  documentAcceptedSchema,
  documentChunksSchema,
  documentDeletionSchema,
  documentListSchema,
  documentSchema,
  externalIdPrefixSchema,
  searchRequestSchema,
  searchResponseSchema,
  setWebhookSchema,
  tenantSchema,
  updateDocumentSchema,
  webhookSchema,
  webhookTestSchema,
} from '@rag/contracts/public-api';
import { reindexStatusSchema, startReindexSchema } from '@rag/contracts/reindex-api';
import { z } from 'zod';

/**
 * Every public route with the role it needs, its request schema and its answers: the one declarative
 * table that the router enforces (mount-route.ts) and the OpenAPI description documents (openapi.ts).
 */
export interface RouteDescription {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  /** 'bootstrap admin' is the credential from config; the others are tenant roles (admin > editor > reader). */
  role: 'bootstrap admin' | 'admin' | 'editor' | 'reader';
  request?: z.ZodType;
  /** Optional query parameters: what each means and the values it takes. */
  query?: Record<string, { description: string; schema: z.ZodType<string> }>;
  success: {
    status: number;
    description: string;
    schema: z.ZodType;
    /** Other successful statuses with the same body, e.g. 200 when there was nothing to queue. */
    also?: { status: number; description: string }[];
  };
  errors: number[];
  /** The OpenAI-compatible routes answer errors in OpenAI's shape instead of problem+json. */
  errorBody?: 'openai';
}

// Every route can answer these; routes with a body add 400 (malformed JSON), 413, 415 and 422.
const common = [401, 403, 429, 500, 503];
const withBody = [400, 413, 415, 422];

export const publicRoutes = [
  {
    method: 'post',
    path: '/v1/tenants',
    summary: 'Create a tenant',
    role: 'bootstrap admin',
    request: createTenantSchema,
    success: { status: 201, description: 'The tenant', schema: tenantSchema },
    errors: [...common, ...withBody, 409],
  },
  {
    method: 'post',
    path: '/v1/api-keys',
    summary: 'Create an API key for a tenant (the key is shown once)',
    role: 'admin',
    request: createApiKeySchema,
    success: { status: 201, description: 'The new key', schema: createdApiKeySchema },
    errors: [...common, ...withBody, 404],
  },
  {
    method: 'get',
    path: '/v1/api-keys',
    summary: "List a tenant's API keys (never the keys themselves)",
    role: 'admin',
    query: {
      tenant: {
        description:
          "The tenant whose keys to list (default: the caller's); another tenant needs the bootstrap admin",
        schema: tenantIdSchema,
      },
    },
    success: { status: 200, description: 'The keys', schema: apiKeyListSchema },
    errors: [...common, 404, 422],
  },
  {
    method: 'delete',
    path: '/v1/api-keys/{id}',
    summary: 'Revoke an API key, effective on the next request',
    role: 'admin',
    success: { status: 200, description: 'The revoked key', schema: apiKeyInfoSchema },
    errors: [...common, 404],
  },
  {
    method: 'get',
    path: '/v1/credential',
    summary: 'The calling credential: its tenant, role, collection scope, principals and expiry',
    role: 'reader',
    success: { status: 200, description: 'The credential', schema: credentialSchema },
    errors: common,
  },
  {
    method: 'post',
    path: '/v1/collections',
    summary: 'Create a collection',
    role: 'admin',
    request: createCollectionSchema,
    success: { status: 201, description: 'The collection', schema: collectionSchema },
    // 404: a model no embedding service serves.
    errors: [...common, ...withBody, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/collections',
    summary: 'List the collections the credential may use',
    role: 'reader',
    success: { status: 200, description: 'The collections', schema: collectionListSchema },
    errors: common,
  },
  {
    method: 'get',
    path: '/v1/collections/{name}',
    summary:
      'A collection with its documents by status, the chunks searches see and its last change (counting only the documents the credential may see)',
    role: 'reader',
    success: { status: 200, description: 'The collection', schema: collectionSummarySchema },
    errors: [...common, 404],
  },
  {
    method: 'get',
    path: '/v1/collections/{name}/documents',
    summary: "A collection's documents the credential may see, newest first, a page at a time",
    role: 'reader',
    query: {
      limit: {
        description: 'Documents per page, 1 to 100 (default 20)',
        schema: z.string().regex(/^(100|[1-9]\d?)$/),
      },
      cursor: { description: 'next_cursor of the previous page', schema: z.string().max(200) },
      status: {
        description:
          'Only documents in these statuses, comma-separated (queued, processing, ready, failed, deleting)',
        schema: z
          .string()
          .regex(/^(queued|processing|ready|failed|deleting)(,(queued|processing|ready|failed|deleting))*$/),
      },
      external_id_prefix: {
        description: 'Only documents whose external_id starts with this text',
        schema: externalIdPrefixSchema,
      },
    },
    success: { status: 200, description: 'The documents', schema: documentListSchema },
    errors: [...common, 404, 422],
  },
  {
    method: 'delete',
    path: '/v1/collections/{name}',
    summary: 'Delete a collection with all its documents',
    role: 'admin',
    success: { status: 202, description: 'Deletion under way', schema: collectionDeletionSchema },
    errors: [...common, 404],
  },
  {
    method: 'post',
    path: '/v1/collections/{name}/reindex',
    summary:
      "Move the collection to another served model: its documents are embedded again from the stored chunk text into the new model's index while the old one serves, then searches and writes switch at once",
    role: 'admin',
    request: startReindexSchema,
    success: { status: 202, description: 'The reindex, started', schema: reindexStatusSchema },
    // 404: no such collection, or a model no embedding service serves; 409: a reindex of it is running; 422: the
    // collection is on that model already.
    errors: [...common, ...withBody, 404, 409],
  },
  {
    method: 'get',
    path: '/v1/collections/{name}/reindex',
    summary: "The collection's latest reindex: state, documents done of total, rate and time left",
    role: 'reader',
    success: { status: 200, description: 'The reindex', schema: reindexStatusSchema },
    errors: [...common, 404],
  },
  {
    method: 'delete',
    path: '/v1/collections/{name}/reindex',
    summary: 'Cancel the running reindex; the old model keeps serving and the new index is removed',
    role: 'admin',
    success: { status: 200, description: 'The reindex, cancelled', schema: reindexStatusSchema },
    errors: [...common, 404],
  },
  {
    method: 'post',
    path: '/v1/collections/{name}/documents',
    summary:
      'Add a document or a new version of it (indexed asynchronously): JSON, or multipart/form-data with a `file` part and a `document` field holding the JSON fields. The same content again answers 200 and changes nothing.',
    role: 'editor',
    request: createDocumentSchema,
    success: {
      status: 202,
      description: 'Queued for indexing',
      schema: documentAcceptedSchema,
      also: [{ status: 200, description: 'The same content again: nothing queued' }],
    },
    errors: [...common, ...withBody, 404, 409],
  },
  {
    method: 'post',
    path: '/v1/collections/{name}/documents/batch',
    summary:
      'Add many documents in one request, each with its own result (202 queued, 200 unchanged, 4xx refused)',
    role: 'editor',
    request: batchDocumentsSchema,
    success: {
      status: 200,
      description: 'One result per document, in order',
      schema: batchDocumentsResponseSchema,
    },
    errors: [...common, ...withBody, 404],
  },
  {
    method: 'get',
    path: '/v1/documents/{id}',
    summary: "A document's status",
    role: 'reader',
    success: { status: 200, description: 'The document', schema: documentSchema },
    errors: [...common, 404],
  },
  {
    method: 'delete',
    path: '/v1/documents/{id}',
    summary: 'Delete a document from every store',
    role: 'editor',
    success: { status: 202, description: 'Deletion under way', schema: documentDeletionSchema },
    errors: [...common, 404],
  },
  {
    method: 'get',
    path: '/v1/documents/{id}/chunks',
    summary: "A document's chunks in reading order (the version searches see), a page at a time",
    role: 'reader',
    query: {
      limit: {
        description: 'Chunks per page, 1 to 100 (default 20)',
        schema: z.string().regex(/^(100|[1-9]\d?)$/),
      },
      cursor: { description: 'next_cursor of the previous page', schema: z.string().regex(/^\d{1,9}$/) },
    },
    success: { status: 200, description: 'The chunks', schema: documentChunksSchema },
    errors: [...common, 404, 422],
  },
  {
    method: 'patch',
    path: '/v1/documents/{id}',
    summary:
      "Change a document's title, metadata or ACL without re-indexing its content; a narrowed ACL applies to searches at once, the vector store follows within moments",
    role: 'editor',
    request: updateDocumentSchema,
    success: { status: 200, description: 'The document', schema: documentSchema },
    errors: [...common, ...withBody, 404, 409],
  },
  {
    method: 'post',
    path: '/v1/search',
    summary: 'Hybrid search in a collection',
    role: 'reader',
    request: searchRequestSchema,
    success: { status: 200, description: 'Ranked chunks', schema: searchResponseSchema },
    errors: [...common, ...withBody, 404],
  },
  {
    method: 'get',
    path: '/v1/models',
    summary:
      "The embedding models served (OpenAI's models list): name, dimensions, longest input, outputs, manifest hash, and which is the default",
    role: 'reader',
    success: { status: 200, description: 'The models', schema: openAiModelListSchema },
    errors: common,
    errorBody: 'openai',
  },
  {
    method: 'post',
    path: '/v1/embeddings',
    summary:
      "OpenAI's embeddings API (dense vectors of a served model): texts or token arrays, floats or base64; errors in OpenAI's shape",
    // Embedding any text is compute, not reading the tenant's data: not for the reader keys handed to search UIs.
    role: 'editor',
    request: openAiEmbeddingsRequestSchema,
    success: {
      status: 200,
      description: 'One embedding per input, in order',
      schema: openAiEmbeddingsResponseSchema,
    },
    errors: [...common, ...withBody, 404, 504],
    errorBody: 'openai',
  },
  {
    method: 'post',
    path: '/v1/webhook',
    summary: "Set the tenant's completion webhook (document.ready / document.failed, HMAC-SHA256 signed)",
    role: 'admin',
    request: setWebhookSchema,
    success: { status: 200, description: 'The webhook (without its secret)', schema: webhookSchema },
    // 404: the caller's tenant does not exist (a JWT may name a tenant that was never created).
    errors: [...common, ...withBody, 404],
  },
  {
    method: 'get',
    path: '/v1/webhook',
    summary: "The tenant's completion webhook (without its secret)",
    role: 'admin',
    success: { status: 200, description: 'The webhook', schema: webhookSchema },
    errors: [...common, 404],
  },
  {
    method: 'post',
    path: '/v1/webhook/test',
    summary:
      "Send a signed `webhook.test` event to the tenant's webhook now and report what the receiver answered",
    role: 'admin',
    success: { status: 200, description: 'What the receiver answered', schema: webhookTestSchema },
    // 404: no webhook set; 422: its URL is no longer an allowed target.
    errors: [...common, 404, 422],
  },
  {
    method: 'delete',
    path: '/v1/webhook',
    summary: "Remove the tenant's completion webhook",
    role: 'admin',
    success: { status: 200, description: 'The removed webhook', schema: webhookSchema },
    errors: [...common, 404],
  },
] as const satisfies readonly RouteDescription[];
