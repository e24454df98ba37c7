import { canAccessCollection, requireRole } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { createCollectionSchema } from '@rag/contracts/public-api';
import { insertCollection, listCollections, markCollectionDeleting } from '@rag/db/collection-repository';
import type { Pool } from '@rag/db/pool';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { resolveCollection } from '../collection-access.js';
import type { IngestQueue } from '../ingest-queue.js';
import { principalOf } from '../principal-middleware.js';

export function collectionRoutes(deps: { pool: Pool; queue: IngestQueue }): Router {
  const router = Router();

  router.post('/v1/collections', requireJson, async (req, res) => {
    const principal = principalOf(req);
    requireRole(principal, 'admin');
    const body = parseInput(createCollectionSchema, req.body);
    if (!canAccessCollection(principal, body.name)) {
      throw new AppError('forbidden', `The credential is not scoped to collection "${body.name}"`);
    }
    const collection = await insertCollection(deps.pool, principal.tenantId, body.name);
    if (!collection) throw new AppError('conflict', `Collection "${body.name}" already exists`);
    res.status(201).json({ name: collection.name, created_at: collection.createdAt.toISOString() });
  });

  router.get('/v1/collections', async (req, res) => {
    const principal = principalOf(req);
    const collections = await listCollections(deps.pool, principal.tenantId);
    res.json({
      collections: collections
        .filter((c) => canAccessCollection(principal, c.name))
        .map((c) => ({ name: c.name, created_at: c.createdAt.toISOString() })),
    });
  });

  router.delete('/v1/collections/:name', async (req, res) => {
    const principal = principalOf(req);
    requireRole(principal, 'admin');
    const collection = await resolveCollection(deps.pool, principal, String(req.params.name));
    await markCollectionDeleting(deps.pool, collection.id);
    await deps.queue.enqueue({
      v: 1,
      type: 'delete-collection',
      tenantId: principal.tenantId,
      collectionId: collection.id,
    });
    res.status(202).json({ name: collection.name, status: 'deleting' });
  });

  return router;
}
