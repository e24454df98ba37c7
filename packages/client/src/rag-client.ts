import {
  apiKeyListSchema,
  collectionDeletionSchema,
  collectionListSchema,
  collectionSchema,
  collectionSummarySchema,
  type createApiKeySchema,
  type createCollectionSchema,
  type createDocumentSchema,
  createdApiKeySchema,
  type createTenantSchema,
  credentialSchema,
  type DocumentStatus,
  documentAcceptedSchema,
  documentChunksSchema,
  documentDeletionSchema,
  documentListSchema,
  documentSchema,
  problemSchema,
  type searchRequestSchema,
  searchResponseSchema,
  type setWebhookSchema,
  tenantSchema,
  type updateDocumentSchema,
  webhookSchema,
  webhookTestSchema,
} from '@rag/contracts/public-api';
import { reindexStatusSchema, type startReindexSchema } from '@rag/contracts/reindex-api';
import { z } from 'zod';
import type { FilePart, MultipartBody } from './multipart-body.js';
import { isRagApiError, RagApiError } from './rag-api-error.js';
import { type RetryOptions, retryableStatuses, retryDelayMs, retrySettings } from './retry-policy.js';

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

/** What the gateway answered, for callers that read headers such as Server-Timing or the request id. */
export interface AnswerInfo {
  method: string;
  path: string;
  status: number;
  header(name: string): string | null;
}

export interface RagClientOptions {
  /** The gateway, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof globalThis.fetch;
  /** Per request; 30 s when left out (uploads: per try, and at least long enough for 1 MB/s). */
  timeoutMs?: number;
  /** How 429 and 503 answers are tried again (after Retry-After, with jitter, bounded). */
  retry?: RetryOptions;
  /** For tests: how the client waits between tries. */
  sleep?: (ms: number) => Promise<void>;
  /** Called with every answer the gateway gives (successes and problems alike). */
  onAnswer?: (answer: AnswerInfo) => void;
}

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

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A typed client of the public API. Every method throws `RagApiError` on failure. */
export function createRagClient(options: RagClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const retry = retrySettings(options.retry);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));

  /** A JSON body, or an upload that can be streamed again for each try. */
  type Body =
    | { json: unknown }
    | { upload: MultipartBody; onProgress?: (sent: number, total: number) => void }
    | { form: FormData; onProgress?: (sent: number, total: number) => void };

  async function call<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body?: Body,
  ): Promise<{ status: number; data: z.infer<S> }> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await callOnce(method, path, schema, body);
      if ('data' in outcome) return outcome;
      const turnedAway = retryableStatuses.has(outcome.error.status);
      if (!turnedAway || attempt >= retry.attempts) throw outcome.error;
      await sleep(retryDelayMs(attempt, outcome.retryAfter, retry));
    }
  }

  async function callOnce<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body: Body | undefined,
  ): Promise<{ status: number; data: z.infer<S> } | { error: RagApiError; retryAfter: string | null }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: 'application/json',
    };
    let payload: RequestInit['body'] = null;
    // An upload may take longer than a small call: allow at least 1 MB/s for its bytes.
    let deadlineMs = timeoutMs;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body && 'form' in body) {
      // The runtime writes the multipart content type with its boundary.
      payload = body.form;
      deadlineMs = Math.max(timeoutMs, formBytes(body.form) / 1000);
    } else if (body) {
      const { upload, onProgress } = body;
      headers['content-type'] = upload.contentType;
      headers['content-length'] = String(upload.contentLength);
      payload = upload.open((sent) =>
        onProgress?.(sent, upload.contentLength),
      ) as unknown as RequestInit['body'];
      deadlineMs = Math.max(timeoutMs, upload.contentLength / 1000);
    }
    let response: Answer;
    let text: string;
    try {
      if (body && 'form' in body && body.onProgress && browserXhr()) {
        response = await sendWithProgress(
          method,
          `${base}${path}`,
          headers,
          body.form,
          deadlineMs,
          body.onProgress,
        );
      } else {
        const fetched = await fetchImpl(`${base}${path}`, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(deadlineMs),
          // Undici needs this for a streamed body.
          ...(body && 'upload' in body ? { duplex: 'half' } : {}),
        } as RequestInit);
        response = {
          status: fetched.status,
          ok: fetched.ok,
          header: (name) => fetched.headers.get(name),
          text: () => fetched.text(),
        };
        if (body && 'form' in body) {
          const total = formBytes(body.form);
          body.onProgress?.(total, total);
        }
      }
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new RagApiError({
        status: 0,
        code: timedOut ? 'timeout' : 'network',
        detail: timedOut
          ? `${method} ${path}: no answer from ${base} within ${deadlineMs} ms`
          : `${method} ${path}: cannot reach ${base}: ${describeCause(error)}`,
        cause: error,
      });
    }
    options.onAnswer?.({ method, path, status: response.status, header: response.header });
    const requestId = response.header('x-request-id') ?? undefined;
    const json = parseJson(text);
    if (!response.ok) {
      return {
        error: problemError(method, path, response.status, json, text, requestId),
        retryAfter: response.header('retry-after'),
      };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // A response that does not match the contract means client and gateway disagree: say so loudly.
      throw new RagApiError({
        status: response.status,
        code: 'unexpected_response',
        detail: `${method} ${path} answered a body that does not match the public API contract`,
        requestId,
        errors: parsed.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
        cause: parsed.error,
      });
    }
    return { status: response.status, data: parsed.data };
  }

  async function request<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    json?: unknown,
  ): Promise<z.infer<S>> {
    return (await call(method, path, schema, json === undefined ? undefined : { json })).data;
  }

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

/** An HTTP answer, from fetch or from XMLHttpRequest. */
interface Answer {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  text(): Promise<string>;
}

/** The size of a form's parts, for progress and the upload deadline (the boundaries aside). */
function formBytes(form: FormData): number {
  let bytes = 0;
  for (const [, value] of form) bytes += typeof value === 'string' ? value.length : value.size;
  return bytes;
}

/** The part of a browser's XMLHttpRequest this client uses (the package compiles without DOM types). */
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  timeout: number;
  upload: {
    onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null;
  };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  ontimeout: (() => void) | null;
  status: number;
  responseText: string;
  getResponseHeader(name: string): string | null;
  send(body: FormData): void;
}
type XhrConstructor = new () => XhrLike;

function browserXhr(): XhrConstructor | undefined {
  return (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
}

/** Sends a form through XMLHttpRequest, which reports upload progress; fails like fetch does. */
function sendWithProgress(
  method: string,
  url: string,
  headers: Record<string, string>,
  form: FormData,
  timeoutMs: number,
  onProgress: (sent: number, total: number) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const Xhr = browserXhr() as XhrConstructor;
    const xhr = new Xhr();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.timeout = timeoutMs;
    xhr.upload.onprogress = (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : event.loaded);
    xhr.onload = () =>
      resolve({
        status: xhr.status,
        ok: xhr.status >= 200 && xhr.status < 300,
        header: (name) => xhr.getResponseHeader(name),
        text: async () => xhr.responseText,
      });
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.ontimeout = () => reject(Object.assign(new Error('upload timed out'), { name: 'TimeoutError' }));
    xhr.send(form);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemError(
  method: Method,
  path: string,
  status: number,
  json: unknown,
  text: string,
  headerRequestId: string | undefined,
): RagApiError {
  const problem = problemSchema.safeParse(json);
  if (problem.success) {
    return new RagApiError({
      status,
      code: problem.data.code,
      detail: problem.data.detail,
      requestId: problem.data.request_id,
      errors: problem.data.errors,
    });
  }
  // Not problem+json (a proxy in front of the gateway, say): keep what it said.
  const excerpt = text.trim().slice(0, 300);
  return new RagApiError({
    status,
    code: `http_${status}`,
    detail: `${method} ${path} failed with HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`,
    requestId: headerRequestId,
  });
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the reason (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message} (${cause.message})`;
  return error.message;
}
