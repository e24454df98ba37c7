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
  updateDocumentSchema,
} from '@rag/contracts/public-api';
import { listDocumentChunks } from '@rag/db/chunk-repository';
import { type Collection, findCollectionById } from '@rag/db/collection-repository';
import {
  changedFields,
  type DocumentFieldName,
  type DocumentRecord,
  deleteDocumentRow,
  findDocument,
  markDocumentDeleting,
  type DocumentFields as StoredFields,
  setDocumentSource,
  transitionDocument,
  updateDocumentFields,
} from '@rag/db/document-repository';
import { upsertDocument } from '@rag/db/document-version';
import type { Pool } from '@rag/db/pool';
import { parseInput } from '@rag/http/validate';
import { type DocumentContent, maxInlineTextLength } from '@rag/ingest-contract/ingest-job';
import type { ObjectStorage } from '@rag/storage/object-storage';
import { type Request, Router } from 'express';
import { z } from 'zod';
import { resolveCollection } from '../collection-access.js';
import { receiveUpload, type UploadLimits } from '../document-upload.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';

/** A page of chunks: `cursor` is the position of the last chunk already seen. */
const chunkPageSchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  // Only what next_cursor gives: digits (an empty or negative cursor is a mistake, not the first page).
  cursor: z
    .string()
    .regex(/^\d{1,9}$/, 'not a next_cursor this route gave')
    .transform(Number)
    .default(-1),
});

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
  /** Title, metadata or ACL changed in place (the same content sent with other fields). */
  fieldsUpdated?: DocumentFieldName[];
}

/**
 * A document's content as received: ready for the job (inline text, or a file already in storage), or JSON
 * text too large for a job, which is stored under its document version's own key once that is known.
 */
interface Incoming {
  contentHash: string;
  filename: string | null;
  content: DocumentContent | { kind: 'text-to-store'; bytes: Buffer; mediaType: string };
}

export function documentRoutes(deps: DocumentRouteDeps): Router {
  const router = Router();

  /**
   * Adds a document or a new version of it. The same content again (by hash) is a no-op answered with 200,
   * except that another title, metadata or ACL sent with it is applied in place; other content under the
   * same external_id becomes the next version, which replaces the current one for searchers once it is
   * ready. A document the caller may not see (its ACL) is never touched: its external_id is a conflict.
   */
  async function accept(
    principal: Principal,
    collection: Collection,
    fields: DocumentFields,
    incoming: Incoming,
  ): Promise<Accepted> {
    const sent = incoming.content;
    const stored = sent.kind === 'storage' ? sent.key : null;
    const upserted = await upsertDocument(
      deps.pool,
      {
        tenantId: principal.tenantId,
        collectionId: collection.id,
        externalId: fields.external_id ?? null,
        title: fields.title ?? null,
        contentHash: incoming.contentHash,
        metadata: fields.metadata ?? {},
        acl: fields.acl && fields.acl.length > 0 ? fields.acl : null,
        source: {
          sourceKey: stored,
          mediaType: sent.mediaType ?? null,
          filename: incoming.filename,
        },
      },
      { canSee: (existing) => aclAllows(existing.acl, principal.principals) },
    );
    if (upserted.outcome === 'unchanged' || upserted.outcome === 'fields-updated') {
      // The content is already there: the copy just uploaded is not needed.
      if (stored && stored !== upserted.document.sourceKey) await deps.storage.delete(stored);
      const document = upserted.document;
      const fieldsUpdated = upserted.outcome === 'fields-updated' ? upserted.changed : undefined;
      if (upserted.outcome === 'fields-updated') {
        await enqueueFieldsUpdate(collection, document, upserted.previous);
      }
      // A failed document sent again is tried again (its stored content is unchanged).
      if (document.status !== 'failed') {
        return { status: 200, document, ...(fieldsUpdated ? { fieldsUpdated } : {}) };
      }
      await transitionDocument(deps.pool, document.id, document.version, ['failed'], {
        status: 'queued',
        error: null,
      });
      await enqueueIngest(collection, { ...document, status: 'queued' }, await retryContent(document, sent));
      return { status: 202, document: { ...document, status: 'queued' } };
    }
    const { document, previousSourceKey } = upserted;
    if (previousSourceKey && previousSourceKey !== stored) await deps.storage.delete(previousSourceKey);
    try {
      const content = sent.kind === 'text-to-store' ? await storeText(document, sent) : sent;
      // Null: a newer version took over while the text was stored; its own request queues its job.
      if (content) await enqueueIngest(collection, document, content);
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
  async function retryContent(document: DocumentRecord, sent: Incoming['content']): Promise<DocumentContent> {
    if (document.sourceKey) {
      return {
        kind: 'storage',
        key: document.sourceKey,
        ...(document.mediaType ? { mediaType: document.mediaType } : {}),
        ...(document.filename ? { filename: document.filename } : {}),
      };
    }
    if (sent.kind !== 'text-to-store') return sent;
    const content = await storeText(document, sent);
    if (!content)
      throw new AppError('conflict', 'The document changed concurrently; send it again', { retryable: true });
    return content;
  }

  /**
   * Puts large JSON text into object storage under its document version's own key, so no two documents (nor
   * two versions) ever share an object and deleting one never takes another's content.
   */
  async function storeText(
    document: DocumentRecord,
    text: { bytes: Buffer; mediaType: string },
  ): Promise<DocumentContent | null> {
    const key = `documents/${document.tenantId}/${document.id}/v${document.version}/document.txt`;
    await deps.storage.put(key, Readable.from([text.bytes]), {
      size: text.bytes.length,
      contentType: `${text.mediaType}; charset=utf-8`,
    });
    if (!(await setDocumentSource(deps.pool, document.id, document.version, key))) {
      await deps.storage.delete(key);
      return null;
    }
    return { kind: 'storage', key, mediaType: text.mediaType };
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

  /**
   * Has the worker, the one writer of the collection's vectors, give the document's vector rows the fields
   * PostgreSQL now holds. Without the job the rows would keep the old fields for good, so when the queue is
   * down the previous fields go back (best effort) and the caller's retry changes them again.
   */
  async function enqueueFieldsUpdate(
    collection: Collection,
    document: DocumentRecord,
    previous: StoredFields,
  ): Promise<void> {
    try {
      await deps.queue.enqueue({
        v: 2,
        type: 'update-fields',
        tenantId: document.tenantId,
        collection: collection.name,
        documentId: document.id,
        changedAt: document.updatedAt.toISOString(),
        // The title is embedded and indexed with every chunk: a new one means indexing the chunks again.
        ...(previous.title !== document.title ? { titleChanged: true } : {}),
      });
    } catch (error) {
      await updateDocumentFields(deps.pool, document.tenantId, document.id, previous).catch(() => {});
      throw error;
    }
  }

  /** JSON text: inline in the job up to the queue's limit, else stored once its document version is known. */
  function textContent(body: CreateDocumentRequest): Incoming {
    const contentHash = createHash('sha256').update(body.text).digest('hex');
    const mediaType = body.media_type ?? 'text/plain';
    if (body.text.length <= maxInlineTextLength) {
      return { contentHash, content: { kind: 'inline', text: body.text, mediaType }, filename: null };
    }
    return {
      contentHash,
      content: { kind: 'text-to-store', bytes: Buffer.from(body.text, 'utf8'), mediaType },
      filename: null,
    };
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
      accepted = await accept(principal, collection, body, textContent(body));
    }
    if (accepted.status === 202) res.location(statusUrl(accepted.document.id));
    res.status(accepted.status).json(acceptedBody(accepted));
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
        const accepted = await accept(principal, collection, body, textContent(body));
        results.push({ index, status: accepted.status, ...acceptedFields(accepted) });
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

  mountRoute(router, 'get', '/v1/documents/{id}/chunks', async (req, res, principal) => {
    const document = await findVisibleDocument(deps.pool, principal, pathParam(req, 'id'));
    const { limit, cursor } = parseInput(chunkPageSchema, req.query, 'query');
    // The version searches see; a document not ready yet has no chunks to show.
    const version = document.readyVersion;
    const chunks =
      version === null
        ? []
        : await listDocumentChunks(deps.pool, document.id, version, {
            afterOrdinal: cursor,
            limit: limit + 1,
          });
    const page = chunks.slice(0, limit);
    res.json({
      chunks: page.map((chunk) => ({
        chunk_id: chunk.id,
        position: chunk.ordinal,
        text: chunk.text,
        page: chunk.page,
        heading_path: chunk.headingPath,
        start_offset: chunk.startOffset,
        end_offset: chunk.endOffset,
      })),
      next_cursor: chunks.length > limit ? String(page.at(-1)!.ordinal) : null,
    });
  });

  mountRoute(router, 'patch', '/v1/documents/{id}', async (req, res, principal) => {
    requireJsonBody(req);
    const found = await findVisibleDocument(deps.pool, principal, pathParam(req, 'id'));
    const body = parseInput(updateDocumentSchema, req.body);
    const next = {
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
      ...(body.acl !== undefined ? { acl: body.acl && body.acl.length > 0 ? body.acl : null } : {}),
    };
    if (found.status === 'deleting') throw beingDeleted(found.id);
    if (changedFields(found, next).length === 0) {
      res.json(documentBody(found));
      return;
    }
    const document = await updateDocumentFields(deps.pool, principal.tenantId, found.id, next);
    const collection =
      document && (await findCollectionById(deps.pool, principal.tenantId, document.collectionId));
    if (!document || !collection) throw beingDeleted(found.id);
    await enqueueFieldsUpdate(collection, document, found);
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

function beingDeleted(id: string): AppError {
  return new AppError('conflict', `Document ${id} is being deleted`);
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

function acceptedBody({ document, fieldsUpdated }: Accepted) {
  return {
    id: document.id,
    version: document.version,
    status: document.status,
    status_url: statusUrl(document.id),
    ...(fieldsUpdated ? { fields_updated: fieldsUpdated } : {}),
  };
}

function acceptedFields({ document, fieldsUpdated }: Accepted) {
  return {
    id: document.id,
    version: document.version,
    document_status: document.status,
    status_url: statusUrl(document.id),
    ...(fieldsUpdated ? { fields_updated: fieldsUpdated } : {}),
  };
}

/** A document as the API shows it (GET, PATCH and the collection's document list). */
export function documentBody(document: DocumentRecord) {
  return {
    id: document.id,
    external_id: document.externalId,
    // The caller's title, else the one the uploaded file carries.
    title: document.title ?? document.sourceTitle,
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
    acl: document.acl,
    created_at: document.createdAt.toISOString(),
    updated_at: document.updatedAt.toISOString(),
  };
}
