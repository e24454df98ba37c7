import { openAiModelListSchema } from '@rag/contracts/openai-embeddings';
import {
  apiKeyListSchema,
  collectionDeletionSchema,
  collectionListSchema,
  collectionSchema,
  collectionSummarySchema,
  createdApiKeySchema,
  credentialSchema,
  type DocumentStatus,
  documentAcceptedSchema,
  documentChunksSchema,
  documentDeletionSchema,
  documentListSchema,
  documentSchema,
  searchResponseSchema,
  tenantSchema,
  webhookSchema,
  webhookTestSchema,
} from '@rag/contracts/public-api';
import { reindexStatusSchema } from '@rag/contracts/reindex-api';
import {
  type AddDocumentRequest,
  type AddedDocument,
  type ApiKeyList,
  type ApiKeyRevocation,
  apiKeyRevocationSchema,
  type Collection,
  type CollectionDeletion,
  type CollectionList,
  type CollectionSummary,
  type CreateApiKeyRequest,
  type CreateCollectionRequest,
  type CreatedApiKey,
  type CreateTenantRequest,
  type Credential,
  type DocumentChunks,
  type DocumentDeletion,
  type DocumentInfo,
  type DocumentList,
  type DocumentListQuery,
  type ModelList,
  type ReindexStatus,
  type SearchRequest,
  type SearchResponse,
  type SetWebhookRequest,
  type StartReindexRequest,
  type Tenant,
  type UpdateDocumentRequest,
  type UploadBlobRequest,
  type UploadDocumentRequest,
  type Webhook,
  type WebhookTest,
} from './api-types.js';
import { createGatewayCall, type RagClientOptions } from './gateway-call.js';
import { isRagApiError, RagApiError } from './rag-api-error.js';

export * from './api-types.js';
export type { AnswerInfo, RagClientOptions } from './gateway-call.js';

export interface WaitForDocumentOptions {
  /** The statuses that end the wait; `ready` and `failed` when left out. */
  statuses?: readonly DocumentStatus[];
  /** 60 s when left out. */
  timeoutMs?: number;
  /** Time between polls; 500 ms when left out. */
  intervalMs?: number;
  /**
   * Called when a poll got no answer (network, timeout, 5xx): the wait goes on, since only the server can say
   * a document failed.
   */
  onUnanswered?: (error: RagApiError) => void;
}

/** A typed client of the public API. Every method throws `RagApiError` on failure. */
export function createRagClient(options: RagClientOptions) {
  const { call, request, sleep } = createGatewayCall(options);

  const segment = encodeURIComponent;

  async function getDocument(id: string): Promise<DocumentInfo> {
    return request('GET', `/v1/documents/${segment(id)}`, documentSchema);
  }

  return {
    createTenant: (tenant: CreateTenantRequest): Promise<Tenant> =>
      request('POST', '/v1/tenants', tenantSchema, tenant),

    /** What the calling credential is (tenant, role, scope, expiry): for showing only what it allows. */
    credential: (): Promise<Credential> => request('GET', '/v1/credential', credentialSchema),

    createApiKey: (key: CreateApiKeyRequest): Promise<CreatedApiKey> =>
      request('POST', '/v1/api-keys', createdApiKeySchema, key),

    listApiKeys: (filter: { tenant?: string } = {}): Promise<ApiKeyList> =>
      request(
        'GET',
        filter.tenant === undefined ? '/v1/api-keys' : `/v1/api-keys?tenant=${segment(filter.tenant)}`,
        apiKeyListSchema,
      ),

    revokeApiKey: (id: string): Promise<ApiKeyRevocation> =>
      request('DELETE', `/v1/api-keys/${segment(id)}`, apiKeyRevocationSchema),

    createCollection: (collection: CreateCollectionRequest): Promise<Collection> =>
      request('POST', '/v1/collections', collectionSchema, collection),

    listCollections: (): Promise<CollectionList> => request('GET', '/v1/collections', collectionListSchema),

    deleteCollection: (name: string): Promise<CollectionDeletion> =>
      request('DELETE', `/v1/collections/${segment(name)}`, collectionDeletionSchema),

    /** Moves a collection to another served model (admin); the old model serves until the switch. */
    startReindex: (name: string, reindex: StartReindexRequest): Promise<ReindexStatus> =>
      request('POST', `/v1/collections/${segment(name)}/reindex`, reindexStatusSchema, reindex),

    /** The collection's latest reindex: state, documents done of total, rate and time left. */
    getReindex: (name: string): Promise<ReindexStatus> =>
      request('GET', `/v1/collections/${segment(name)}/reindex`, reindexStatusSchema),

    /** Cancels the running reindex; the old model keeps serving. */
    cancelReindex: (name: string): Promise<ReindexStatus> =>
      request('DELETE', `/v1/collections/${segment(name)}/reindex`, reindexStatusSchema),

    /** The served embedding models (a collection may be created on or moved to any of them). */
    listModels: (): Promise<ModelList> => request('GET', '/v1/models', openAiModelListSchema),

    async addDocument(collection: string, document: AddDocumentRequest): Promise<AddedDocument> {
      const { status, data } = await call(
        'POST',
        `/v1/collections/${segment(collection)}/documents`,
        documentAcceptedSchema,
        { json: document },
      );
      return { ...data, unchanged: status === 200 };
    },

    /**
     * Uploads a file as a document (PDF, DOCX, XLSX, PPTX, HTML, Markdown, CSV, text: the server tells the type
     * from the content). The same bytes under the same external_id again are a no-op (`unchanged`).
     */
    async uploadDocument(collection: string, document: UploadDocumentRequest): Promise<AddedDocument> {
      const { path, filename, onProgress, ...fields } = document;
      // Loaded on first use: it reads files through Node's fs, which a browser bundle has none of.
      const { multipartFileBody } = await import('./multipart-body.js');
      const upload = await multipartFileBody(
        Object.keys(fields).length > 0 ? { document: JSON.stringify(fields) } : {},
        { path, ...(filename === undefined ? {} : { filename }) },
      );
      const { status, data } = await call(
        'POST',
        `/v1/collections/${segment(collection)}/documents`,
        documentAcceptedSchema,
        { upload, ...(onProgress ? { onProgress } : {}) },
      );
      return { ...data, unchanged: status === 200 };
    },

    /** Uploads a file held in memory (a browser's File), with progress; otherwise like `uploadDocument`. */
    async uploadBlob(collection: string, document: UploadBlobRequest): Promise<AddedDocument> {
      const { file, filename, onProgress, ...fields } = document;
      const form = new FormData();
      if (Object.keys(fields).length > 0) form.set('document', JSON.stringify(fields));
      const name = filename ?? ('name' in file && typeof file.name === 'string' ? file.name : 'upload');
      form.set('file', file, name);
      const { status, data } = await call(
        'POST',
        `/v1/collections/${segment(collection)}/documents`,
        documentAcceptedSchema,
        { form, ...(onProgress ? { onProgress } : {}) },
      );
      return { ...data, unchanged: status === 200 };
    },

    /** A collection with its documents by status, chunk count and last change (as the credential sees it). */
    getCollection: (name: string): Promise<CollectionSummary> =>
      request('GET', `/v1/collections/${segment(name)}`, collectionSummarySchema),

    /** A page of a collection's documents, newest first; pass the answer's `next_cursor` for the next page. */
    listDocuments: (collection: string, query: DocumentListQuery = {}): Promise<DocumentList> => {
      const params = new URLSearchParams();
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      if (query.cursor !== undefined) params.set('cursor', query.cursor);
      if (query.status !== undefined && query.status.length > 0) params.set('status', query.status.join(','));
      if (query.external_id_prefix !== undefined) params.set('external_id_prefix', query.external_id_prefix);
      const suffix = params.size > 0 ? `?${params}` : '';
      return request('GET', `/v1/collections/${segment(collection)}/documents${suffix}`, documentListSchema);
    },

    getDocument,

    /** A page of a document's chunks in reading order; pass the answer's `next_cursor` for the next page. */
    getDocumentChunks: (
      id: string,
      page: { limit?: number; cursor?: string } = {},
    ): Promise<DocumentChunks> => {
      const query = new URLSearchParams();
      if (page.limit !== undefined) query.set('limit', String(page.limit));
      if (page.cursor !== undefined) query.set('cursor', page.cursor);
      const suffix = query.size > 0 ? `?${query}` : '';
      return request('GET', `/v1/documents/${segment(id)}/chunks${suffix}`, documentChunksSchema);
    },

    /** Changes title, metadata or ACL in place (each field given replaces the stored one); nothing is re-indexed. */
    updateDocument: (id: string, fields: UpdateDocumentRequest): Promise<DocumentInfo> =>
      request('PATCH', `/v1/documents/${segment(id)}`, documentSchema, fields),

    deleteDocument: (id: string): Promise<DocumentDeletion> =>
      request('DELETE', `/v1/documents/${segment(id)}`, documentDeletionSchema),

    search: (search: SearchRequest): Promise<SearchResponse> =>
      request('POST', '/v1/search', searchResponseSchema, search),

    /** Points the tenant's completion webhook at a URL; events are signed with `secret` (never shown again). */
    setWebhook: (webhook: SetWebhookRequest): Promise<Webhook> =>
      request('POST', '/v1/webhook', webhookSchema, webhook),

    getWebhook: (): Promise<Webhook> => request('GET', '/v1/webhook', webhookSchema),

    deleteWebhook: (): Promise<Webhook> => request('DELETE', '/v1/webhook', webhookSchema),

    /** Sends a signed `webhook.test` event to the webhook now; the answer says what the receiver did. */
    testWebhook: (): Promise<WebhookTest> => request('POST', '/v1/webhook/test', webhookTestSchema),

    /** Polls a document until it reaches one of `statuses`; throws a `timeout` RagApiError otherwise. */
    async waitForDocument(id: string, wait: WaitForDocumentOptions = {}): Promise<DocumentInfo> {
      const statuses = wait.statuses ?? ['ready', 'failed'];
      const intervalMs = wait.intervalMs ?? 500;
      const deadline = Date.now() + (wait.timeoutMs ?? 60_000);
      let lastSeen = 'unanswered';
      for (;;) {
        try {
          const document = await getDocument(id);
          if (statuses.includes(document.status)) return document;
          lastSeen = `still ${document.status}`;
        } catch (error) {
          // Only the server can say a document failed: a poll it could not answer says nothing about it.
          if (!isRagApiError(error) || !(error.status === 0 || error.status >= 500)) throw error;
          lastSeen = `unanswered (${error.detail})`;
          wait.onUnanswered?.(error);
        }
        if (Date.now() + intervalMs > deadline) {
          throw new RagApiError({
            status: 0,
            code: 'timeout',
            detail: `Document ${id} is ${lastSeen}, not ${statuses.join(' or ')}, after ${wait.timeoutMs ?? 60_000} ms`,
          });
        }
        await sleep(intervalMs);
      }
    },
  };
}
export type RagClient = ReturnType<typeof createRagClient>;
