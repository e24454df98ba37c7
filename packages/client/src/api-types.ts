import type { openAiModelListSchema } from '@rag/contracts/openai-embeddings';
import type {
  apiKeyListSchema,
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
  DocumentStatus,
  documentAcceptedSchema,
  documentChunksSchema,
  documentDeletionSchema,
  documentListSchema,
  documentSchema,
  searchRequestSchema,
  searchResponseSchema,
  setWebhookSchema,
  tenantSchema,
  updateDocumentSchema,
  webhookSchema,
  webhookTestSchema,
} from '@rag/contracts/public-api';
import type {
  collectionReindexSchema,
  reindexStatusSchema,
  startReindexSchema,
} from '@rag/contracts/reindex-api';
import { z } from 'zod';
import type { FilePart } from './multipart-body.js';

// Requests are typed by what the gateway accepts (defaults optional); responses by what it answers.
export type CreateTenantRequest = z.input<typeof createTenantSchema>;
export type CreateApiKeyRequest = z.input<typeof createApiKeySchema>;
export type CreateCollectionRequest = z.input<typeof createCollectionSchema>;
export type AddDocumentRequest = z.input<typeof createDocumentSchema>;
export type SearchRequest = z.input<typeof searchRequestSchema>;
export type UpdateDocumentRequest = z.input<typeof updateDocumentSchema>;

export type Tenant = z.infer<typeof tenantSchema>;
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
export type Collection = z.infer<typeof collectionSchema>;
export type CollectionList = z.infer<typeof collectionListSchema>;
export type CollectionDeletion = z.infer<typeof collectionDeletionSchema>;
export type DocumentAccepted = z.infer<typeof documentAcceptedSchema>;
export type DocumentInfo = z.infer<typeof documentSchema>;
export type DocumentDeletion = z.infer<typeof documentDeletionSchema>;
export type DocumentChunks = z.infer<typeof documentChunksSchema>;
export type SearchResponse = z.infer<typeof searchResponseSchema>;
export type Credential = z.infer<typeof credentialSchema>;
export type CollectionSummary = z.infer<typeof collectionSummarySchema>;
export type DocumentList = z.infer<typeof documentListSchema>;
export type SetWebhookRequest = z.input<typeof setWebhookSchema>;
export type Webhook = z.infer<typeof webhookSchema>;
export type WebhookTest = z.infer<typeof webhookTestSchema>;
export type StartReindexRequest = z.input<typeof startReindexSchema>;
export type ReindexStatus = z.infer<typeof reindexStatusSchema>;
/** A collection's move to another model as the collection routes show it (`reindex`, null when none). */
export type CollectionReindex = z.infer<typeof collectionReindexSchema>;
/** GET /v1/models: the served embedding models, in OpenAI's list shape. */
export type ModelList = z.infer<typeof openAiModelListSchema>;

/** Which of a collection's documents to list, and from where. */
export interface DocumentListQuery {
  limit?: number;
  cursor?: string;
  status?: readonly DocumentStatus[];
  external_id_prefix?: string;
}

/** The answer of DELETE /v1/api-keys/{id}; the contracts package has no schema for it yet. */
export const apiKeyRevocationSchema = z.object({ id: z.string(), revoked_at: z.string() });
export type ApiKeyRevocation = z.infer<typeof apiKeyRevocationSchema>;

export interface AddedDocument extends DocumentAccepted {
  /** True when the gateway answered 200: the same external_id with the same text was already there. */
  unchanged: boolean;
}

/** A file to upload and the document fields that go with it (all optional; the server reads the title from the file). */
export interface UploadDocumentRequest extends FilePart {
  external_id?: string;
  title?: string;
  metadata?: AddDocumentRequest['metadata'];
  acl?: AddDocumentRequest['acl'];
  /** Called as bytes leave, with the count sent so far in this try and the body's length. */
  onProgress?: (sent: number, total: number) => void;
}

/** A file already in memory (a browser's File or Blob) and the document fields that go with it. */
export interface UploadBlobRequest {
  file: Blob;
  /** The name the server sees; a File's own name by default. */
  filename?: string;
  external_id?: string;
  title?: string;
  metadata?: AddDocumentRequest['metadata'];
  acl?: AddDocumentRequest['acl'];
  /**
   * Called as bytes leave. In a browser this sends through XMLHttpRequest, the one browser API that reports
   * upload progress (fetch does not); elsewhere through fetch, reporting the whole body once sent.
   */
  onProgress?: (sent: number, total: number) => void;
}
