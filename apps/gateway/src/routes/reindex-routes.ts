import { AppError } from '@rag/contracts/app-error';
import {
  type CollectionReindex as CollectionReindexView,
  type ReindexStatus,
  recentReindexSeconds,
  startReindexSchema,
} from '@rag/contracts/reindex-api';
import type { Collection } from '@rag/db/collection-repository';
import type { Pool } from '@rag/db/pool';
import {
  type CollectionReindex,
  endReindex,
  findLatestReindex,
  findRunningReindex,
  insertReindex,
} from '@rag/db/reindex-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import type { EmbeddingModels } from '@rag/service-clients/embedding-models';
import { Router } from 'express';
import { audit } from '../audit.js';
import { resolveCollection } from '../collection-access.js';
import { mountRoute, pathParam } from '../mount-route.js';
import type { ReindexQueue } from '../reindex-queue.js';

/** A reindex as its routes show it: state, progress, rate and the time left at that rate. */
export function describeReindex(
  collection: Collection,
  reindex: CollectionReindex,
  now = Date.now(),
): ReindexStatus {
  const seconds = ((reindex.finishedAt?.getTime() ?? now) - reindex.startedAt.getTime()) / 1000;
  const rate = reindex.documentsDone > 0 && seconds > 0 ? reindex.documentsDone / seconds : null;
  const left = Math.max(0, reindex.documentsTotal - reindex.documentsDone);
  return {
    id: reindex.id,
    collection: collection.name,
    state: reindex.state,
    from_model: reindex.from?.name ?? null,
    to_model: reindex.to.name,
    documents: { done: reindex.documentsDone, total: reindex.documentsTotal },
    chunks_done: reindex.chunksDone,
    documents_per_second: rate === null ? null : Math.round(rate * 100) / 100,
    eta_seconds: reindex.state !== 'running' || rate === null ? null : Math.round(left / rate),
    started_at: reindex.startedAt.toISOString(),
    finished_at: reindex.finishedAt?.toISOString() ?? null,
    drop_old_after: reindex.dropOldAfter?.toISOString() ?? null,
    old_dropped_at: reindex.oldDroppedAt?.toISOString() ?? null,
    error: reindex.error,
  };
}

/** A collection's reindex as the collection routes show it: while it runs and for a day after it ended. */
export function collectionReindex(
  reindex: CollectionReindex | undefined,
  now = Date.now(),
): CollectionReindexView | null {
  if (!reindex) return null;
  if (reindex.finishedAt && now - reindex.finishedAt.getTime() > recentReindexSeconds * 1000) return null;
  return {
    id: reindex.id,
    state: reindex.state,
    from_model: reindex.from?.name ?? null,
    to_model: reindex.to.name,
    documents: { done: reindex.documentsDone, total: reindex.documentsTotal },
    started_at: reindex.startedAt.toISOString(),
    finished_at: reindex.finishedAt?.toISOString() ?? null,
    error: reindex.error,
  };
}

/**
 * Moving a collection to another embedding model: start (admin), progress, cancel. The worker does the work
 * (reindex jobs); PostgreSQL holds the state, so these routes read and change only that.
 */
export function reindexRoutes(deps: {
  pool: Pool;
  queue: ReindexQueue | undefined;
  models?: EmbeddingModels;
}): Router {
  const router = Router();

  function queue(): ReindexQueue {
    if (!deps.queue) throw new AppError('dependency_unavailable', 'Reindexing is not available here');
    return deps.queue;
  }

  mountRoute(router, 'post', '/v1/collections/{name}/reindex', requireJson, async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const body = parseInput(startReindexSchema, req.body);
    if (!deps.models)
      throw new AppError('not_found', `The model ${body.model} does not exist; no models are served here`);
    const target = await deps.models.get(body.model);
    if (target.info.manifestHash === undefined) {
      throw new AppError(
        'internal',
        `The embedding service of ${body.model} reports no manifest hash to record`,
      );
    }
    // A collection that names no model is on the default one: that is where it moves from.
    const from =
      collection.model ??
      (await deps.models
        .default()
        .then(({ info }) =>
          info.manifestHash === undefined ? undefined : { name: info.name, manifestHash: info.manifestHash },
        ));
    if (from?.name === target.info.name) {
      throw new AppError(
        'validation_failed',
        `model: collection "${collection.name}" is on ${target.info.name} already`,
        { context: { issues: [{ path: 'model', message: 'the collection is on this model already' }] } },
      );
    }
    const reindex = await insertReindex(deps.pool, {
      collectionId: collection.id,
      tenantId: collection.tenantId,
      ...(from ? { from } : {}),
      to: { name: target.info.name, manifestHash: target.info.manifestHash },
    });
    if (!reindex) {
      throw new AppError(
        'conflict',
        `Collection "${collection.name}" is being reindexed already; follow it with GET or cancel it with DELETE`,
      );
    }
    try {
      await queue().enqueue({ type: 'build', reindexId: reindex.id });
    } catch (error) {
      // Not queued: not started either, so the caller can simply try again.
      await endReindex(deps.pool, reindex.id, 'failed', 'the reindex queue was unavailable');
      throw error;
    }
    await audit(deps.pool, req, principal, 'collection.reindex', {
      tenantId: principal.tenantId,
      target: collection.name,
      details: { from: from?.name ?? null, to: target.info.name },
    });
    res.status(202).json(describeReindex(collection, reindex));
  });

  mountRoute(router, 'get', '/v1/collections/{name}/reindex', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const reindex = await findLatestReindex(deps.pool, collection.id);
    if (!reindex) throw new AppError('not_found', `Collection "${collection.name}" was never reindexed`);
    res.json(describeReindex(collection, reindex));
  });

  mountRoute(router, 'delete', '/v1/collections/{name}/reindex', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const running = await findRunningReindex(deps.pool, collection.id);
    if (!running || !(await endReindex(deps.pool, running.id, 'cancelled'))) {
      throw new AppError('not_found', `Collection "${collection.name}" has no reindex running`);
    }
    // The worker stops at its next batch and removes what it wrote; this job does it if no worker runs it.
    await queue()
      .enqueue({ type: 'cleanup', reindexId: running.id })
      .catch(() => {});
    await audit(deps.pool, req, principal, 'collection.reindex.cancel', {
      tenantId: principal.tenantId,
      target: collection.name,
    });
    const cancelled = (await findLatestReindex(deps.pool, collection.id)) ?? running;
    res.json(describeReindex(collection, cancelled));
  });

  return router;
}
