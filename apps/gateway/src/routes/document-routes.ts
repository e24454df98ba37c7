import { aclAllows } from '@rag/auth/acl';
import { canAccessCollection, type Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { uuidSchema } from '@rag/contracts/identifiers';
import { updateDocumentSchema } from '@rag/contracts/public-api';
import { listDocumentChunks } from '@rag/db/chunk-repository';
import { findCollectionById } from '@rag/db/collection-repository';
import { changedFields } from '@rag/db/document-field-changes';
import {
  type DocumentRecord,
  findDocument,
  markDocumentDeleting,
  updateDocumentFields,
} from '@rag/db/document-repository';
import type { Pool } from '@rag/db/pool';
import { parseInput } from '@rag/http/validate';
import { queueFieldsUpdate } from '@rag/ingest-acceptance/queued-acceptance';
import type { ObjectStorage } from '@rag/storage/object-storage';
import { Router } from 'express';
import { z } from 'zod';
import type { UploadLimits } from '../document-upload.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';
import { documentIntakeRoutes, requireJsonBody, statusUrl } from './document-intake-routes.js';

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

/**
 * The document routes: intake (`document-intake-routes.ts`), reading a document and its chunks, changing its
 * fields, deleting it.
 */
export function documentRoutes(deps: DocumentRouteDeps): Router {
  const router = Router();
  router.use(documentIntakeRoutes(deps));

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
    await queueFieldsUpdate(deps, collection.name, document, found);
    res.json(documentBody(document));
  });

  mountRoute(router, 'delete', '/v1/documents/{id}', async (req, res, principal) => {
    const found = await findVisibleDocument(deps.pool, principal, pathParam(req, 'id'));
    const collection = await findCollectionById(deps.pool, principal.tenantId, found.collectionId);
    if (!collection) throw new AppError('not_found', `Document ${found.id} not found`);
    const document = (await markDocumentDeleting(deps.pool, principal.tenantId, found.id)) ?? found;
    await deps.queue.enqueue({
      v: 2,
      type: 'delete',
      tenantId: document.tenantId,
      collection: collection.name,
      documentId: document.id,
    });
    res.status(202).json({ id: document.id, status: 'deleting', status_url: statusUrl(document.id) });
  });

  return router;
}

function beingDeleted(id: string): AppError {
  return new AppError('conflict', `Document ${id} is being deleted`);
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
