import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway } from '../test-gateway.js';
import { limitedCallers, queuedJobs, useRouteTestGateway } from './route-test-fixture.js';

/**
 * The reindex routes on the real PostgreSQL and Redis (the reindex queue included), with two embedding
 * services' model reports played on local ports (model-a the default, model-b another): starting a move,
 * following it, cancelling it, what is queued for the worker, the refusals, and the limited credentials
 * that may do none of it.
 */

const info = (name: string, hash: string) => ({
  name,
  dim: 4,
  maxLength: 128,
  outputs: { dense: true, sparse: false, colbert: false },
  manifestHash: hash.repeat(64),
});

const route = useRouteTestGateway(
  { beforeAll, afterAll },
  {
    services: ['modelA', 'modelB'],
    answers: {
      modelA: { 'GET /v1/model': { status: 200, body: info('model-a', 'a') } },
      modelB: { 'GET /v1/model': { status: 200, body: info('model-b', 'b') } },
    },
    gateway: ({ modelA, modelB }) => ({ embeddingUrls: [modelA.url, modelB.url], reindexQueue: true }),
    collections: ['handbook', 'guarded', 'idle'],
  },
);

const reindex = (method: string, collection: string, key = route.keys.admin, body?: unknown) =>
  route.gateway.call(method, `/v1/collections/${collection}/reindex`, { key, ...(body ? { body } : {}) });

describe('POST, GET and DELETE /v1/collections/{name}/reindex', () => {
  it('starts a move from the default model, queues its build, and shows its progress', async () => {
    const started = await reindex('POST', 'handbook', route.keys.admin, { model: 'model-b' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      collection: 'handbook',
      state: 'running',
      from_model: 'model-a',
      to_model: 'model-b',
      documents: { done: 0, total: 0 },
      finished_at: null,
    });
    const id = started.body.id;
    expect(await queuedJobs(route.gateway, 'reindex')).toContainEqual({ type: 'build', reindexId: id });

    const followed = await reindex('GET', 'handbook', route.keys.reader);
    expect(followed.status).toBe(200);
    expect(followed.body).toMatchObject({ id, state: 'running', to_model: 'model-b' });

    const twice = await reindex('POST', 'handbook', route.keys.admin, { model: 'model-b' });
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/being reindexed already/);
  });

  it('cancels the running move and queues its clean-up; then there is nothing to cancel', async () => {
    const { body: running } = await reindex('GET', 'handbook');
    const cancelled = await reindex('DELETE', 'handbook');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: running.id,
      state: 'cancelled',
      finished_at: expect.any(String),
    });
    expect(await queuedJobs(route.gateway, 'reindex')).toContainEqual({
      type: 'cleanup',
      reindexId: running.id,
    });
    expect((await reindex('DELETE', 'handbook')).status).toBe(404);
    expect((await reindex('GET', 'handbook')).body).toMatchObject({ id: running.id, state: 'cancelled' });
  });

  it('refuses the model the collection is on (422), a model nobody serves (404), a bad body (422)', async () => {
    const same = await reindex('POST', 'idle', route.keys.admin, { model: 'model-a' });
    expect(same.status).toBe(422);
    expect(same.body.detail).toMatch(/on model-a already/);
    const unknown = await reindex('POST', 'idle', route.keys.admin, { model: 'model-z' });
    expect(unknown.status).toBe(404);
    expect((await reindex('POST', 'idle', route.keys.admin, {})).status).toBe(422);
    expect((await reindex('GET', 'idle')).status).toBe(404);
    expect((await reindex('DELETE', 'idle')).status).toBe(404);
  });

  it('answers 404 for a collection that does not exist', async () => {
    expect((await reindex('POST', 'nothing', route.keys.admin, { model: 'model-b' })).status).toBe(404);
    expect((await reindex('GET', 'nothing')).status).toBe(404);
    expect((await reindex('DELETE', 'nothing')).status).toBe(404);
  });

  it('security: a reader, another tenant and another collection scope can neither start nor cancel a move', async () => {
    for (const { who, key, status } of limitedCallers(route.keys)) {
      const start = await reindex('POST', 'guarded', key, { model: 'model-b' });
      expect({ who, status: start.status }).toEqual({ who, status });
    }
    // Nothing started: no move recorded, nothing queued for it.
    expect((await reindex('GET', 'guarded')).status).toBe(404);

    const started = await reindex('POST', 'guarded', route.keys.admin, { model: 'model-b' });
    expect(started.status).toBe(202);
    for (const { who, key, status } of limitedCallers(route.keys)) {
      const cancel = await reindex('DELETE', 'guarded', key);
      expect({ who, status: cancel.status }).toEqual({ who, status });
    }
    expect((await reindex('GET', 'guarded')).body).toMatchObject({ id: started.body.id, state: 'running' });
    const cleanups = (await queuedJobs(route.gateway, 'reindex')).filter(
      (job) => job.reindexId === started.body.id,
    );
    expect(cleanups).toEqual([{ type: 'build', reindexId: started.body.id }]);
  });
});

describe('without a reindex queue', () => {
  it('answers 503 and leaves no move running, so a retry can start it', async () => {
    const bare = await startTestGateway({
      tenants: ['acme'],
      embeddingUrls: [route.services.modelA.url, route.services.modelB.url],
    });
    try {
      expect((await bare.call('POST', '/v1/collections', { body: { name: 'handbook' } })).status).toBe(201);
      const refused = await bare.call('POST', '/v1/collections/handbook/reindex', {
        body: { model: 'model-b' },
      });
      expect(refused.status).toBe(503);
      const { body } = await bare.call('GET', '/v1/collections/handbook/reindex');
      expect(body).toMatchObject({ state: 'failed', error: 'the reindex queue was unavailable' });
    } finally {
      await bare.close();
    }
  });
});
