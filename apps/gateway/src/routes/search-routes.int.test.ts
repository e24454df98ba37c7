import type { InternalSearchResponse } from '@rag/contracts/search-api';
import { internalSearchRequestSchema } from '@rag/contracts/search-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testServiceToken } from '../test-gateway.js';
import { issueKey, limitedCallers, type ReceivedRequest, useRouteTestGateway } from './route-test-fixture.js';

/**
 * POST /v1/search on the real PostgreSQL and Redis, with the search service's side of the internal contract
 * played on a local port: what the gateway sends it (the public body, the page's offset and the scope taken
 * from the credential, never from the body), how it passes the answer on (results, cursor, Server-Timing),
 * which requests never reach the service, and how the service's failures reach the caller.
 */

const route = useRouteTestGateway(
  { beforeAll, afterAll },
  { services: ['search'], gateway: ({ search }) => ({ searchUrl: search.url }), collections: ['handbook'] },
);

let handbookId: string;

/** The service's answer to a search: one hit, and a next page while the ranking has more. */
function answer(request: ReceivedRequest): InternalSearchResponse {
  const body = request.body as { offset: number; top_k: number };
  return {
    results: [
      {
        chunk_id: '11111111-1111-4111-8111-111111111111',
        document_id: '22222222-2222-4222-8222-222222222222',
        external_id: 'policy/travel',
        title: 'Travel',
        text: 'Book travel through the portal.',
        metadata: {},
        score: 0.9,
        scores: { dense: 0.8, bm25: 3.2 },
        highlights: [{ start: 0, end: 4 }],
        page: null,
        heading_path: [],
        start_offset: 0,
        end_offset: 31,
      },
    ],
    signals: ['dense', 'bm25'],
    fusion: 'weighted',
    weights: { dense: 0.6, bm25: 0.4 },
    reranked: false,
    nextOffset: body.offset + body.top_k < 30 ? body.offset + body.top_k : null,
    indexVersion: 7,
    tookMs: 3,
    timings: { embedMs: 1, vectorMs: 1, databaseMs: 1, rerankMs: 0, totalMs: 3, cached: false },
  };
}

const answering = (request: ReceivedRequest) => ({
  status: 200,
  body: answer(request),
  headers: { 'server-timing': 'embed;dur=1.00, milvus;dur=1.00' },
});

const search = (body: Record<string, unknown>, key = route.keys.reader) =>
  route.gateway.call('POST', '/v1/search', {
    key,
    body: { collection: 'handbook', query: 'travel', ...body },
  });

/** The body the service received, checked against the service's own request schema. */
function sent(index = -1) {
  const request = route.services.search.received.at(index)!;
  expect(request.path).toBe('/v1/search');
  expect(request.headers['x-service-token']).toBe(testServiceToken);
  return internalSearchRequestSchema.parse(request.body);
}

beforeAll(async () => {
  const { rows } = await route.gateway.db.pool.query(
    "SELECT id FROM collections WHERE tenant_id = 'acme' AND name = 'handbook'",
  );
  handbookId = rows[0].id;
});

beforeEach(() => {
  route.services.search.received.length = 0;
  route.services.search.answers.set('POST /v1/search', answering);
});

describe('POST /v1/search', () => {
  it("sends the public body with the scope from the caller's credential, and passes the answer on", async () => {
    const response = await fetch(`${route.gateway.base}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${route.keys.reader}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        collection: 'handbook',
        query: 'travel',
        mode: 'hybrid',
        filter: { field: 'a', eq: 1 },
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(sent()).toEqual({
      query: 'travel',
      top_k: 10,
      mode: 'hybrid',
      rerank: 'none',
      group_by_document: false,
      fusion: 'weighted',
      filter: { field: 'a', eq: 1 },
      offset: 0,
      scope: { tenantId: 'acme', collectionId: handbookId, principals: null },
    });
    expect(body).toMatchObject({
      results: answer(route.services.search.received[0]!).results,
      signals: ['dense', 'bm25'],
      fusion: 'weighted',
      weights: { dense: 0.6, bm25: 0.4 },
    });
    expect(typeof body.next_cursor).toBe('string');
    expect(response.headers.get('server-timing')).toMatch(
      /^embed;dur=1\.00, milvus;dur=1\.00, gateway;dur=[\d.]+$/,
    );
    // JSON with its length, and no ETag: no client revalidates a POST, so none is computed.
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0);
    expect(response.headers.get('etag')).toBeNull();
  });

  it('pages by cursor: the next offset and the first page’s index version go back to the service', async () => {
    const first = await search({ top_k: 10 });
    const second = await search({ top_k: 10, cursor: first.body.next_cursor });
    expect(second.status).toBe(200);
    expect(sent()).toMatchObject({ offset: 10, scope: { indexVersion: 7 } });
    const third = await search({ top_k: 10, cursor: second.body.next_cursor });
    expect(sent()).toMatchObject({ offset: 20 });
    expect(third.body.next_cursor).toBeNull();
  });

  it("takes the principals of an ACL-limited key and the collection's model into the scope", async () => {
    const hr = await issueKey(route.gateway, 'acme', { role: 'reader', principals: ['group:hr'] });
    expect((await route.createCollection('modeled')).status).toBe(201);
    // As a reindex leaves it: the collection now records model-b.
    const { rows } = await route.gateway.db.pool.query(
      `UPDATE collections SET embedding_model = 'model-b', embedding_manifest_hash = $1
        WHERE tenant_id = 'acme' AND name = 'modeled' RETURNING id`,
      ['b'.repeat(64)],
    );
    expect((await search({ collection: 'modeled' }, hr.key)).status).toBe(200);
    expect(sent().scope).toEqual({
      tenantId: 'acme',
      collectionId: rows[0].id,
      principals: ['group:hr'],
      model: { name: 'model-b', manifestHash: 'b'.repeat(64) },
    });
  });

  it('refuses bad paging and bodies without asking the service', async () => {
    const refusals: [Record<string, unknown>, number][] = [
      [{ offset: 10, cursor: 'abc' }, 422],
      [{ cursor: 'not-a-cursor' }, 400],
      [{ offset: 195, top_k: 10 }, 422],
      [{ cursor: Buffer.from(JSON.stringify({ o: 195, v: 1 })).toString('base64url'), top_k: 10 }, 422],
      [{ query: '   ' }, 422],
      [{ mode: 'fuzzy' }, 422],
      [{ top_k: 0 }, 422],
    ];
    for (const [body, status] of refusals) {
      const answer = await search(body);
      expect({ body, status: answer.status }).toEqual({ body, status });
    }
    expect((await search({ collection: 'nothing' })).status).toBe(404);
    expect(route.services.search.received).toEqual([]);
  });

  it("passes the service's refusals on (409 for a changed collection) and its outage as 503", async () => {
    route.services.search.answers.set('POST /v1/search', () => ({
      status: 409,
      body: {
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        code: 'conflict',
        detail:
          'The collection changed since the first page of this search; search again from the first page',
      },
    }));
    const changed = await search({});
    expect(changed.status).toBe(409);
    expect(changed.body.detail).toMatch(/changed since the first page/);

    route.services.search.answers.set('POST /v1/search', () => ({
      status: 503,
      body: { code: 'dependency_unavailable' },
    }));
    const down = await search({});
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('dependency_unavailable');

    route.services.search.answers.set('POST /v1/search', () => ({ status: 200, body: { unexpected: true } }));
    expect((await search({})).status).toBe(500);
  });

  it('security: another tenant and another collection scope find nothing, and the service is never asked', async () => {
    const callers = limitedCallers(route.keys, { reader: 200 }).filter(({ who }) => who !== 'reader');
    for (const { who, key, status } of callers) {
      const answer = await search({}, key);
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    expect(route.services.search.received).toEqual([]);
    // Another tenant's collection of the same name is searched in that tenant's scope, never in acme's.
    expect((await route.createCollection('handbook', route.keys.otherTenant)).status).toBe(201);
    expect((await search({}, route.keys.otherTenant)).status).toBe(200);
    expect(sent().scope.tenantId).toBe('globex');
    expect(sent().scope.collectionId).not.toBe(handbookId);
  });

  it('security: a scope or principals in the body are refused, never used', async () => {
    const answer = await search({
      scope: { tenantId: 'globex', collectionId: handbookId, principals: null },
    });
    expect(answer.status).toBe(422);
    expect((await search({ principals: null })).status).toBe(422);
    expect(route.services.search.received).toEqual([]);
  });
});
