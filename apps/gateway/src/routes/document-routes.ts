import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { aclAllows } from '@rag/auth/acl';
import { canAccessCollection, type Principal } from '@rag/auth/principal';
import { AppError, isAppError, toAppError } from '@rag/contracts/app-error';
import { uuidSchema } from '@rag/contracts/identifiers';
import {
  batchDocumentsSchema,
  type CreateDocumentRequest,
  createDocumentSchema,
} from '@rag/contracts/public-api';
import { type Collection, findCollectionById } from '@rag/db/collection-repository';
import {
  type DocumentRecord,
  deleteDocumentRow,
  findDocument,
  markDocumentDeleting,
  transitionDocument,
} from '@rag/db/document-repository';
import { upsertDocument } from '@rag/db/document-version';
import type { Pool } from '@rag/db/pool';
import { parseInput } from '@rag/http/validate';
import { type DocumentContent, maxInlineTextLength } from '@rag/ingest-contract/ingest-job';
import type { ObjectStorage } from '@rag/storage/object-storage';
import { type Request, Router } from 'express';
import { resolveCollection } from '../collection-access.js';
import { receiveUpload, type UploadLimits } from '../document-upload.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';

export interface DocumentRouteDeps {
  pool: Pool;
  queue: IngestQueue;
  storage: ObjectStorage;
  upload: UploadLimits;
}

/** What a document carries besides its content, from a JSON body or an upload's fields. */
type DocumentFields = Omit<CreateDocumentRequest, 'text'>;
const documentFieldsSchema = createDocumentSchema.omit({ text: true });

interface Accepted {
  status: 200 | 202;
  document: DocumentRecord;
}

export function documentRoutes(deps: DocumentRouteDeps): Router {
  const router = Router();

  /**
   * Adds a document or a new version of it. The same content again (by hash) is a no-op answered with 200;
   * other content under the same external_id becomes the next version, which replaces the current one for
   * searchers once it is ready.
   */
  async function accept(
    principal: Principal,
    collection: Collection,
    fields: DocumentFields,
    content: { contentHash: string; content: DocumentContent; filename: string | null },
  ): Promise<Accepted> {
    const stored = content.content.kind === 'storage' ? content.content.key : null;
    const upserted = await upsertDocument(deps.pool, {
      tenantId: principal.tenantId,
      collectionId: collection.id,
      externalId: fields.external_id ?? null,
      title: fields.title ?? null,
      contentHash: content.contentHash,
      metadata: fields.metadata ?? {},
      acl: fields.acl && fields.acl.length > 0 ? fields.acl : null,
      source: {
        sourceKey: stored,
        mediaType: content.content.mediaType ?? null,
        filename: content.filename,
      },
    });
    if (upserted.outcome === 'unchanged') {
      // The content is already there: the copy just uploaded is not needed.
      if (stored && stored !== upserted.document.sourceKey) await deps.storage.delete(stored);
      // A failed document sent again is tried again (its stored content is unchanged).
      if (upserted.document.status !== 'failed') return { status: 200, document: upserted.document };
      const document = upserted.document;
      await transitionDocument(deps.pool, document.id, document.version, ['failed'], {
        status: 'queued',
        error: null,
      });
      await enqueueIngest(
        collection,
        { ...document, status: 'queued' },
        storedContent(document, content.content),
      );
      return { status: 202, document: { ...document, status: 'queued' } };
    }
    const { document, previousSourceKey } = upserted;
    if (previousSourceKey && previousSourceKey !== stored) await deps.storage.delete(previousSourceKey);
    try {
      await enqueueIngest(collection, document, content.content);
    } catch (error) {
      if (upserted.outcome === 'created') {
        // Without a job the row would stay queued forever: take it back so the caller can simply retry.
        await deleteDocumentRow(deps.pool, document.id);
        if (stored) await deps.storage.delete(stored);
      } else {
        await transitionDocument(deps.pool, document.id, document.version, ['queued'], {
          status: 'failed',
          error: 'The ingest queue was unavailable; send the document again',
        });
      }
      throw error;
    }
    return { status: 202, document };
  }

  /** A retried document's content: its stored file when it has one, else what was sent now. */
  function storedContent(document: DocumentRecord, sent: DocumentContent): DocumentContent {
    if (!document.sourceKey) return sent;
    return {
      kind: 'storage',
      key: document.sourceKey,
      ...(document.mediaType ? { mediaType: document.mediaType } : {}),
      ...(document.filename ? { filename: document.filename } : {}),
    };
  }

  async function enqueueIngest(collection: Collection, document: DocumentRecord, content: DocumentContent) {
    await deps.queue.enqueue({
      v: 2,
      type: 'ingest',
      tenantId: document.tenantId,
      collection: collection.name,
      documentId: document.id,
      version: document.version,
      title: document.title,
      content,
    });
  }

  /** JSON text: inline in the job up to the queue's limit, else put into object storage first. */
  async function textContent(principal: Principal, body: CreateDocumentRequest) {
    const contentHash = createHash('sha256').update(body.text).digest('hex');
    const mediaType = body.media_type ?? 'text/plain';
    if (body.text.length <= maxInlineTextLength) {
      return {
        contentHash,
        content: { kind: 'inline', text: body.text, mediaType } as const,
        filename: null,
      };
    }
    const bytes = Buffer.from(body.text, 'utf8');
    const key = `${uploadPrefix(principal)}/${contentHash}/document.txt`;
    await deps.storage.put(key, Readable.from([bytes]), {
      size: bytes.length,
      contentType: `${mediaType}; charset=utf-8`,
    });
    return { contentHash, content: { kind: 'storage', key, mediaType } as const, filename: null };
  }

  mountRoute(router, 'post', '/v1/collections/{name}/documents', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    let accepted: Accepted;
    if (req.is('multipart/form-data')) {
      const upload = await receiveUpload(req, deps.storage, uploadPrefix(principal), deps.upload);
      try {
        const fields = uploadFields(upload.fields);
        accepted = await accept(principal, collection, fields, {
          contentHash: upload.file.sha256,
          filename: upload.file.filename,
          content: {
            kind: 'storage',
            key: upload.file.key,
            ...(upload.file.declaredType ? { mediaType: upload.file.declaredType } : {}),
            ...(upload.file.filename ? { filename: upload.file.filename } : {}),
          },
        });
      } catch (error) {
        await deps.storage.delete(upload.file.key).catch(() => {});
        throw error;
      }
    } else {
      requireJsonBody(req);
      const body = parseInput(createDocumentSchema, req.body);
      accepted = await accept(principal, collection, body, await textContent(principal, body));
    }
    if (accepted.status === 202) res.location(statusUrl(accepted.document.id));
    res.status(accepted.status).json(acceptedBody(accepted.document));
  });

  mountRoute(router, 'post', '/v1/collections/{name}/documents/batch', async (req, res, principal) => {
    requireJsonBody(req);
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const { documents } = parseInput(batchDocumentsSchema, req.body);
    const results = [];
    // One after another: a batch is one caller's work and should not take every database connection.
    for (const [index, item] of documents.entries()) {
      try {
        const body = parseInput(createDocumentSchema, item, `document ${index}`);
        const accepted = await accept(principal, collection, body, await textContent(principal, body));
        results.push({ index, status: accepted.status, ...acceptedFields(accepted.document) });
      } catch (thrown) {
        const error = toAppError(thrown);
        // Outages fail the whole request (retry it); a bad document only fails its own entry.
        if (!isAppError(thrown) || error.status >= 500) throw thrown;
        const issues = error.context.issues as Array<{ path: string; message: string }> | undefined;
        results.push({
          index,
          status: error.status,
          code: error.code,
          detail: error.message,
          ...(issues ? { errors: issues } : {}),
        });
      }
    }
    res.status(200).json({
      results,
      accepted: results.filter((r) => r.status === 202).length,
      unchanged: results.filter((r) => r.status === 200).length,
      rejected: results.filter((r) => r.status >= 400).length,
    });
  });

  mountRoute(router, 'get', '/v1/documents/{id}', async (req, res, principal) => {
    const document = await findVisibleDocument(deps.pool, principal, pathParam(req, 'id'));
    res.json(documentBody(document));
  });

  mountRoute(router, 'delete', '/v1/documents/{id}', async (req, res, principal) => {
    const found = await findVisibleDocument(deps.pool, principal, pathParam(req, 'id'));
    const document = (await markDocumentDeleting(deps.pool, principal.tenantId, found.id)) ?? found;
    await deps.queue.enqueue({
      v: 1,
      type: 'delete',
      documentId: document.id,
      tenantId: document.tenantId,
      collectionId: document.collectionId,
    });
    res.status(202).json({ id: document.id, status: 'deleting', status_url: statusUrl(document.id) });
  });

  return router;
}

function requireJsonBody(req: Request): void {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new AppError(
      'unsupported_media_type',
      'Send the body as application/json, or a file as multipart/form-data',
    );
  }
}

/**
 * An upload's fields: `document` holding the JSON fields (external_id, title, metadata, acl), or the simple
 * ones (external_id, title) as separate form fields.
 */
function uploadFields(fields: Record<string, string>): DocumentFields {
  let raw: unknown = {};
  if (fields.document !== undefined) {
    try {
      raw = JSON.parse(fields.document);
    } catch {
      throw new AppError('validation_failed', 'The "document" field must be a JSON object');
    }
  }
  const simple = Object.fromEntries(
    ['external_id', 'title'].filter((name) => fields[name] !== undefined).map((name) => [name, fields[name]]),
  );
  return parseInput(
    documentFieldsSchema.omit({ media_type: true }),
    { ...(raw as object), ...simple },
    'upload fields',
  );
}

function uploadPrefix(principal: Principal): string {
  return `uploads/${principal.tenantId}`;
}

/**
 * A document the caller may see: in its tenant, in a collection its credential covers, and shared with one
 * of its principals when the document has an ACL. Anything else reads as missing.
 */
async function findVisibleDocument(pool: Pool, principal: Principal, id: string): Promise<DocumentRecord> {
  const notFound = new AppError('not_found', `Document ${id} not found`);
  if (!uuidSchema.safeParse(id).success) throw notFound;
  const document = await findDocument(pool, principal.tenantId, id);
  if (!document || !aclAllows(document.acl, principal.principals)) throw notFound;
  if (principal.collections !== null) {
    const collection = await findCollectionById(pool, principal.tenantId, document.collectionId);
    if (!collection || !canAccessCollection(principal, collection.name)) throw notFound;
  }
  return document;
}

function statusUrl(id: string): string {
  return `/v1/documents/${id}`;
}

function acceptedBody(document: DocumentRecord) {
  return {
    id: document.id,
    version: document.version,
    status: document.status,
    status_url: statusUrl(document.id),
  };
}

function acceptedFields(document: DocumentRecord) {
  return {
    id: document.id,
    version: document.version,
    document_status: document.status,
    status_url: statusUrl(document.id),
  };
}

function documentBody(document: DocumentRecord) {
  return {
    id: document.id,
    external_id: document.externalId,
    title: document.title,
    status: document.status,
    ...(document.error ? { error: document.error } : {}),
    chunks: document.chunkCount,
    version: document.version,
    ready_version: document.readyVersion,
    content_hash: document.contentHash,
    media_type: document.mediaType,
    filename: document.filename,
    page_count: document.pageCount,
    metadata: document.metadata,
    created_at: document.createdAt.toISOString(),
    updated_at: document.updatedAt.toISOString(),
  };
}
