import { canAccessCollection } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { createCollectionSchema, documentStatuses, externalIdPrefixSchema } from '@rag/contracts/public-api';
import {
  type Collection,
  findCollectionByName,
  insertCollection,
  listCollections,
  markCollectionDeleting,
} from '@rag/db/collection-repository';
import { type DocumentPosition, listDocumentPage, summariseCollection } from '@rag/db/document-listing';
import type { Pool } from '@rag/db/pool';
import { type CollectionReindex, findLatestReindex, findLatestReindexes } from '@rag/db/reindex-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import type { EmbeddingModels } from '@rag/service-clients/embedding-models';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit.js';
import { resolveCollection } from '../collection-access.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';
import type { RequestCache } from '../request-cache.js';
import { documentBody } from './document-routes.js';
import { collectionReindex } from './reindex-routes.js';

const documentPageSchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: z
    .string()
    .transform((list) => list.split(','))
    .pipe(z.array(z.enum(documentStatuses)))
    .optional(),
  external_id_prefix: externalIdPrefixSchema.optional(),
});

/**
 * A collection as every collection route shows it: its name, when it was made, its model, and its move to
 * another model while that runs or just ended.
 */
function describeCollection(collection: Collection, reindex?: CollectionReindex) {
  return {
    name: collection.name,
    created_at: collection.createdAt.toISOString(),
    model: collection.model?.name ?? null,
    model_manifest_hash: collection.model?.manifestHash ?? null,
    reindex: collectionReindex(reindex),
  };
}

/** The named model as the embedding service reports it: a problem+json 404 when no service serves it. */
async function servedModel(models: EmbeddingModels | undefined, name: string) {
  if (!models) throw new AppError('not_found', `The model ${name} does not exist; no models are served here`);
  // Any served model: the worker and the search service index and search each collection with its own.
  const { info } = await models.get(name);
  if (info.manifestHash === undefined) {
    throw new AppError('internal', `The embedding service of ${name} reports no manifest hash to record`);
  }
  return { name: info.name, manifestHash: info.manifestHash };
}

/** A page cursor: the last document's position, opaque to callers. */
function encodeCursor(position: DocumentPosition): string {
  return Buffer.from(`${position.createdMicros}.${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): DocumentPosition {
  const match = /^(\d{1,17})\.([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) {
    throw new AppError('validation_failed', 'Invalid query: cursor: not a next_cursor this route gave', {
      context: { issues: [{ path: 'cursor', message: 'not a next_cursor this route gave' }] },
    });
  }
  return { createdMicros: match[1]!, id: match[2]! };
}

export function collectionRoutes(deps: {
  pool: Pool;
  queue: IngestQueue;
  cache: RequestCache;
  /** The served models a new collection may name (none: a collection cannot name a model). */
  models?: EmbeddingModels;
}): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/collections', requireJson, async (req, res, principal) => {
    const body = parseInput(createCollectionSchema, req.body);
    if (!canAccessCollection(principal, body.name)) {
      throw new AppError('forbidden', `The credential is not scoped to collection "${body.name}"`);
    }
    const model = body.model === undefined ? undefined : await servedModel(deps.models, body.model);
    const collection = await insertCollection(
      deps.pool,
      principal.tenantId,
      body.name,
      model && { name: model.name, manifestHash: model.manifestHash },
    );
    if (!collection) {
      const existing = await findCollectionByName(deps.pool, principal.tenantId, body.name);
      if (existing?.deleting) {
        throw new AppError(
          'conflict',
          `Collection "${body.name}" is still being deleted; create it again once that has finished`,
          { retryable: true },
        );
      }
      throw new AppError('conflict', `Collection "${body.name}" already exists`);
    }
    await audit(deps.pool, req, principal, 'collection.create', {
      tenantId: principal.tenantId,
      target: body.name,
    });
    res.status(201).json(describeCollection(collection));
  });

  mountRoute(router, 'get', '/v1/collections', async (_req, res, principal) => {
    const [collections, reindexes] = await Promise.all([
      listCollections(deps.pool, principal.tenantId),
      findLatestReindexes(deps.pool, principal.tenantId),
    ]);
    res.json({
      collections: collections
        .filter((c) => canAccessCollection(principal, c.name))
        .map((c) => describeCollection(c, reindexes.get(c.id))),
    });
  });

  mountRoute(router, 'get', '/v1/collections/{name}', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const [summary, reindex] = await Promise.all([
      summariseCollection(deps.pool, collection.id, principal.principals),
      findLatestReindex(deps.pool, collection.id),
    ]);
    const byStatus = summary.documentsByStatus;
    res.json({
      ...describeCollection(collection, reindex),
      documents: { total: Object.values(byStatus).reduce((sum, n) => sum + n, 0), ...byStatus },
      chunks: summary.chunks,
      last_changed_at: summary.lastChangedAt?.toISOString() ?? null,
    });
  });

  mountRoute(router, 'get', '/v1/collections/{name}/documents', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const query = parseInput(documentPageSchema, req.query, 'query');
    const rows = await listDocumentPage(deps.pool, {
      collectionId: collection.id,
      principals: principal.principals,
      statuses: query.status,
      externalIdPrefix: query.external_id_prefix,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    res.json({
      documents: page.map((row) => documentBody(row.document)),
      next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.position) : null,
    });
  });

  mountRoute(router, 'delete', '/v1/collections/{name}', async (req, res, principal) => {
    // A collection already being deleted is deleted again: when the first try found the queue down (503),
    // the caller's retry queues the job (one job per collection, by its id) instead of reading 404.
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'), {
      includeDeleting: true,
    });
    if (!collection.deleting) await markCollectionDeleting(deps.pool, collection.id);
    // No replica serves it from its cache any more (a collection made again under the name is another one).
    await deps.cache.invalidate();
    await deps.queue.enqueue({
      v: 2,
      type: 'delete-collection',
      tenantId: principal.tenantId,
      collectionId: collection.id,
    });
    await audit(deps.pool, req, principal, 'collection.delete', {
      tenantId: principal.tenantId,
      target: collection.name,
    });
    res.status(202).json({ name: collection.name, status: 'deleting' });
  });

  return router;
}
