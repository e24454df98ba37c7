import { createHash } from 'node:crypto';
import { aclAllows } from '@rag/auth/acl';
import { canAccessCollection, type Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { uuidSchema } from '@rag/contracts/identifiers';
import { createDocumentSchema } from '@rag/contracts/public-api';
import { findCollectionById } from '@rag/db/collection-repository';
import {
  type DocumentRecord,
  deleteDocumentRow,
  findDocument,
  findDocumentByExternalId,
  insertDocument,
  markDocumentDeleting,
} from '@rag/db/document-repository';
import type { Pool } from '@rag/db/pool';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { resolveCollection } from '../collection-access.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';

export function documentRoutes(deps: { pool: Pool; queue: IngestQueue }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/collections/{name}/documents', requireJson, async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const body = parseInput(createDocumentSchema, req.body);
    const contentHash = createHash('sha256').update(body.text).digest('hex');

    if (body.external_id !== undefined) {
      const existing = await findDocumentByExternalId(deps.pool, collection.id, body.external_id);
      if (existing) {
        // Sending the same content again is a no-op; different content under the same id is a conflict.
        if (existing.contentHash === contentHash && existing.status !== 'deleting') {
          res.status(200).json(acceptedBody(existing));
          return;
        }
        throw new AppError('conflict', `A document with external_id "${body.external_id}" already exists`, {
          context: { document_id: existing.id },
        });
      }
    }

    const document = await insertDocument(deps.pool, {
      tenantId: principal.tenantId,
      collectionId: collection.id,
      externalId: body.external_id ?? null,
      title: body.title ?? null,
      contentHash,
      metadata: body.metadata ?? {},
      acl: body.acl && body.acl.length > 0 ? body.acl : null,
    });
    if (!document)
      throw new AppError('conflict', `A document with external_id "${body.external_id}" already exists`);
    try {
      await deps.queue.enqueue({
        v: 1,
        type: 'ingest',
        documentId: document.id,
        tenantId: document.tenantId,
        collectionId: document.collectionId,
        version: document.version,
        title: document.title,
        text: body.text,
      });
    } catch (error) {
      // Without a job the row would stay queued forever: take it back so the caller can simply retry.
      await deleteDocumentRow(deps.pool, document.id);
      throw error;
    }
    res.status(202).location(statusUrl(document.id)).json(acceptedBody(document));
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

function documentBody(document: DocumentRecord) {
  return {
    id: document.id,
    external_id: document.externalId,
    title: document.title,
    status: document.status,
    ...(document.error ? { error: document.error } : {}),
    chunks: document.chunkCount,
    version: document.version,
    content_hash: document.contentHash,
    metadata: document.metadata,
    created_at: document.createdAt.toISOString(),
    updated_at: document.updatedAt.toISOString(),
  };
}
