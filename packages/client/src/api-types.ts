import type { openAiModelListSchema } from '@rag/contracts/openai-embeddings';
import type * as api from '@rag/contracts/public-api';
import type { startReindexSchema } from '@rag/contracts/reindex-api';
import { z } from 'zod';
import type { FilePart } from './multipart-body.js';

/** The search answer; a reindex's state, and a collection's move to another model as its routes show it. */
export type { SearchResponse } from '@rag/contracts/public-api';
export type { CollectionReindex, ReindexStatus } from '@rag/contracts/reindex-api';

// Requests are typed by what the gateway accepts (defaults optional); responses by what it answers.
export type CreateTenantRequest = z.input<typeof api.createTenantSchema>;
export type CreateApiKeyRequest = z.input<typeof api.createApiKeySchema>;
export type CreateCollectionRequest = z.input<typeof api.createCollectionSchema>;
export type AddDocumentRequest = z.input<typeof api.createDocumentSchema>;
export type SearchRequest = z.input<typeof api.searchRequestSchema>;
export type UpdateDocumentRequest = z.input<typeof api.updateDocumentSchema>;

export type Tenant = z.infer<typeof api.tenantSchema>;
export type CreatedApiKey = z.infer<typeof api.createdApiKeySchema>;
export type ApiKeyList = z.infer<typeof api.apiKeyListSchema>;
export type Collection = z.infer<typeof api.collectionSchema>;
export type CollectionList = z.infer<typeof api.collectionListSchema>;
export type CollectionDeletion = z.infer<typeof api.collectionDeletionSchema>;
export type DocumentAccepted = z.infer<typeof api.documentAcceptedSchema>;
export type DocumentInfo = z.infer<typeof api.documentSchema>;
export type DocumentDeletion = z.infer<typeof api.documentDeletionSchema>;
export type DocumentChunks = z.infer<typeof api.documentChunksSchema>;
export type Credential = z.infer<typeof api.credentialSchema>;
export type CollectionSummary = z.infer<typeof api.collectionSummarySchema>;
export type DocumentList = z.infer<typeof api.documentListSchema>;
export type SetWebhookRequest = z.input<typeof api.setWebhookSchema>;
export type Webhook = z.infer<typeof api.webhookSchema>;
export type WebhookTest = z.infer<typeof api.webhookTestSchema>;
export type StartReindexRequest = z.input<typeof startReindexSchema>;
/** GET /v1/models: the served embedding models, in OpenAI's list shape. */
export type ModelList = z.infer<typeof openAiModelListSchema>;

/** Which of a collection's documents to list, and from where. */
export interface DocumentListQuery {
  limit?: number;
  cursor?: string;
  status?: readonly api.DocumentStatus[];
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
