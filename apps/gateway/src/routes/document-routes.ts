import { createHash } from 'node:crypto';
import { canAccessCollection, requireRole } from '@rag/auth/principal';
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
import { principalOf } from '../principal-middleware.js';

export function documentRoutes(deps: { pool: Pool; queue: IngestQueue }): Router {
  const router = Router();

  router.post('/v1/collections/:name/documents', requireJson, async (req, res) => {
    const principal = principalOf(req);
    requireRole(principal, 'editor');
    const collection = await resolveCollection(deps.pool, principal, String(req.params.name));
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
      acl: body.acl ?? null,
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

  router.get('/v1/documents/:id', async (req, res) => {
    const document = await findOwnDocument(deps.pool, req);
    res.json(documentBody(document));
  });

  router.delete('/v1/documents/:id', async (req, res) => {
    const principal = principalOf(req);
    requireRole(principal, 'editor');
    const found = await findOwnDocument(deps.pool, req);
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

async function findOwnDocument(pool: Pool, req: Parameters<typeof principalOf>[0]): Promise<DocumentRecord> {
  const principal = principalOf(req);
  const id = String(req.params.id);
  const notFound = new AppError('not_found', `Document ${id} not found`);
  if (!uuidSchema.safeParse(id).success) throw notFound;
  const document = await findDocument(pool, principal.tenantId, id);
  if (!document) throw notFound;
  // A key scoped to some collections must not read documents of the others.
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
