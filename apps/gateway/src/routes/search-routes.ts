import { AppError } from '@rag/contracts/app-error';
import { searchRequestSchema } from '@rag/contracts/public-api';
import type { SearchClient } from '@rag/contracts/search-client';
import type { Pool } from '@rag/db/pool';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { resolveCollection } from '../collection-access.js';
import { mountRoute } from '../mount-route.js';

export function searchRoutes(deps: { pool: Pool; search: SearchClient }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/search', requireJson, async (req, res, principal) => {
    const started = performance.now();
    const body = parseInput(searchRequestSchema, req.body);
    if (body.rerank !== 'none') {
      throw new AppError('validation_failed', `rerank "${body.rerank}" is not available on this deployment`);
    }
    const collection = await resolveCollection(deps.pool, principal, body.collection);
    const answer = await deps.search.search({
      tenantId: principal.tenantId,
      collectionId: collection.id,
      query: body.query,
      topK: body.top_k,
      mode: body.mode,
      groupByDocument: body.group_by_document,
      principals: principal.principals,
    });
    res.json({
      results: answer.results.map((hit) => ({
        document_id: hit.documentId,
        external_id: hit.externalId,
        chunk_id: hit.chunkId,
        score: hit.score,
        title: hit.title,
        text: hit.text,
        highlights: hit.highlights,
        metadata: hit.metadata,
      })),
      signals: answer.signals,
      took_ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  return router;
}
