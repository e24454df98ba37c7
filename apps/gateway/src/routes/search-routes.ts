import { AppError } from '@rag/contracts/app-error';
import { searchRequestSchema } from '@rag/contracts/public-api';
import { resultWindowProblem } from '@rag/contracts/search-api';
import type { Pool } from '@rag/db/pool';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import type { SearchClient } from '@rag/service-clients/search-client';
import { Router } from 'express';
import { z } from 'zod';
import { resolveCollection } from '../collection-access.js';
import { mountRoute } from '../mount-route.js';
import type { RequestCache } from '../request-cache.js';

/**
 * A cursor is the next page's offset and the collection's index version when the first page was served,
 * so a later page comes from the same ranking or fails with 409 if the collection has changed since.
 */
const cursorSchema = z.strictObject({ o: z.number().int().min(0), v: z.number().int().min(0) });

function encodeCursor(offset: number, indexVersion: number): string {
  return Buffer.from(JSON.stringify({ o: offset, v: indexVersion })).toString('base64url');
}

function decodeCursor(cursor: string): { offset: number; indexVersion: number } {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { offset: parsed.o, indexVersion: parsed.v };
  } catch {
    throw new AppError('bad_request', 'cursor is not a next_cursor returned by this API');
  }
}

export function searchRoutes(deps: { pool: Pool; search: SearchClient; cache: RequestCache }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/search', requireJson, async (req, res, principal) => {
    const started = performance.now();
    const body = parseInput(searchRequestSchema, req.body);
    if (body.cursor !== undefined && body.offset !== undefined) {
      throw new AppError('validation_failed', 'give either offset or cursor, not both');
    }
    const { collection: name, cursor, ...search } = body;
    const page = cursor !== undefined ? decodeCursor(cursor) : { offset: body.offset ?? 0 };
    const windowProblem = resultWindowProblem(page.offset, body.top_k);
    if (windowProblem) throw new AppError('validation_failed', windowProblem);
    const collection = await resolveCollection(deps.pool, principal, name, { cache: deps.cache });
    const { answer, serverTiming } = await deps.search.search({
      ...search,
      offset: page.offset,
      scope: {
        tenantId: principal.tenantId,
        collectionId: collection.id,
        principals: principal.principals,
        ...('indexVersion' in page ? { indexVersion: page.indexVersion } : {}),
        ...(collection.model ? { model: collection.model } : {}),
      },
    });
    // The service's own stages (embed, milvus, db, rerank, search, cache) and then the gateway's.
    res.setHeader(
      'Server-Timing',
      [serverTiming, `gateway;dur=${(performance.now() - started).toFixed(2)}`].filter(Boolean).join(', '),
    );
    // Sent without an ETag (res.json would hash every answer): a search is a POST, which no client revalidates.
    res.type('json').end(
      JSON.stringify({
        results: answer.results,
        signals: answer.signals,
        fusion: answer.fusion,
        weights: answer.weights,
        next_cursor: answer.nextOffset === null ? null : encodeCursor(answer.nextOffset, answer.indexVersion),
        took_ms: Math.round((performance.now() - started) * 10) / 10,
      }),
    );
  });

  return router;
}
