import { canAccessCollection } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { createCollectionSchema } from '@rag/contracts/public-api';
import {
  findCollectionByName,
  insertCollection,
  listCollections,
  markCollectionDeleting,
} from '@rag/db/collection-repository';
import type { Pool } from '@rag/db/pool';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { audit } from '../audit.js';
import { resolveCollection } from '../collection-access.js';
import type { IngestQueue } from '../ingest-queue.js';
import { mountRoute, pathParam } from '../mount-route.js';

export function collectionRoutes(deps: { pool: Pool; queue: IngestQueue }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/collections', requireJson, async (req, res, principal) => {
    const body = parseInput(createCollectionSchema, req.body);
    if (!canAccessCollection(principal, body.name)) {
      throw new AppError('forbidden', `The credential is not scoped to collection "${body.name}"`);
    }
    const collection = await insertCollection(deps.pool, principal.tenantId, body.name);
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
    res.status(201).json({ name: collection.name, created_at: collection.createdAt.toISOString() });
  });

  mountRoute(router, 'get', '/v1/collections', async (_req, res, principal) => {
    const collections = await listCollections(deps.pool, principal.tenantId);
    res.json({
      collections: collections
        .filter((c) => canAccessCollection(principal, c.name))
        .map((c) => ({ name: c.name, created_at: c.createdAt.toISOString() })),
    });
  });

  mountRoute(router, 'delete', '/v1/collections/{name}', async (req, res, principal) => {
    // A collection already being deleted is deleted again: when the first try found the queue down (503),
    // the caller's retry queues the job (one job per collection, by its id) instead of reading 404.
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'), {
      includeDeleting: true,
    });
    if (!collection.deleting) await markCollectionDeleting(deps.pool, collection.id);
    await deps.queue.enqueue({
      v: 1,
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
