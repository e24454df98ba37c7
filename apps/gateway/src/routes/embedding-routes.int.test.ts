import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, testServiceToken } from '../test-gateway.js';
import { limitedCallers, useRouteTestGateway } from './route-test-fixture.js';

/**
 * The OpenAI-compatible routes on the real PostgreSQL and Redis, with two embedding services' side of the
 * contract played on local ports (model-a the default, model-b another): the models list, an embeddings
 * request sent to the named model's service and its answer passed on, the refusals in OpenAI's error shape,
 * an outage, and the credentials that may not embed.
 */

const route = useRouteTestGateway(
  { beforeAll, afterAll },
  {
    services: ['modelA', 'modelB'],
    gateway: ({ modelA, modelB }) => ({ embeddingUrls: [modelA.url, modelB.url] }),
  },
);

const info = (name: string, dim: number, sparse: boolean) => ({
  name,
  dim,
  maxLength: 512,
  outputs: { dense: true, sparse, colbert: sparse },
  manifestHash: name.at(-1)!.repeat(64),
});

const embeddingsAnswer = (model: string, input: string[]) => ({
  object: 'list',
  data: input.map((_, index) => ({ object: 'embedding', index, embedding: [0.5, 0.5, 0.5, 0.5] })),
  model,
  usage: { prompt_tokens: 3, total_tokens: 3 },
});

const embed = (body: Record<string, unknown>, key = route.keys.editor) =>
  route.gateway.call('POST', '/v1/embeddings', { key, body });

beforeEach(() => {
  for (const [service, name, dim, sparse] of [
    [route.services.modelA, 'model-a', 4, false],
    [route.services.modelB, 'model-b', 8, true],
  ] as const) {
    service.received.length = 0;
    service.answers.set('GET /v1/model', () => ({ status: 200, body: info(name, dim, sparse) }));
    service.answers.set('POST /v1/embeddings', (request) => {
      const { input } = request.body as { input: string | string[] };
      return { status: 200, body: embeddingsAnswer(name, Array.isArray(input) ? input : [input]) };
    });
  }
});

describe('GET /v1/models', () => {
  it('lists every served model with its dimensions, outputs, manifest hash, and which is the default', async () => {
    const answer = await route.gateway.call('GET', '/v1/models', { key: route.keys.reader });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      object: 'list',
      data: [
        {
          id: 'model-a',
          object: 'model',
          created: 0,
          owned_by: 'rag-system',
          dimensions: 4,
          max_input_tokens: 512,
          outputs: ['dense'],
          manifest_hash: 'a'.repeat(64),
          default: true,
        },
        {
          id: 'model-b',
          object: 'model',
          created: 0,
          owned_by: 'rag-system',
          dimensions: 8,
          max_input_tokens: 512,
          outputs: ['dense', 'sparse', 'colbert'],
          manifest_hash: 'b'.repeat(64),
          default: false,
        },
      ],
    });
  });
});

describe('POST /v1/embeddings', () => {
  it("sends the request to the named model's service with the service token, and passes its answer on", async () => {
    const answer = await embed({ model: 'model-b', input: ['Book travel.', 'Leave policy.'] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(embeddingsAnswer('model-b', ['Book travel.', 'Leave policy.']));
    const sent = route.services.modelB.received.filter((r) => r.path === '/v1/embeddings');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ model: 'model-b', input: ['Book travel.', 'Leave policy.'] });
    expect(sent[0]!.headers['x-service-token']).toBe(testServiceToken);
    expect(route.services.modelA.received.filter((r) => r.path === '/v1/embeddings')).toEqual([]);
  });

  it("refuses other dimensions than the model's (422) and a model nobody serves (404), in OpenAI's shape", async () => {
    const dimensions = await embed({ model: 'model-a', input: 'x', dimensions: 2 });
    expect(dimensions.status).toBe(422);
    expect(dimensions.body).toMatchObject({
      error: { message: expect.stringMatching(/gives 4 dimensions only/), code: expect.any(String) },
    });
    const unknown = await embed({ model: 'model-z', input: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      error: { message: expect.stringMatching(/model-z does not exist/) },
    });
    expect((await embed({ input: 'no model' })).status).toBe(422);
    expect(route.services.modelA.received.filter((r) => r.path === '/v1/embeddings')).toEqual([]);
  });

  it("answers 503 in OpenAI's shape when the model's service fails", async () => {
    route.services.modelA.answers.set('POST /v1/embeddings', () => ({
      status: 503,
      body: { code: 'overloaded' },
    }));
    const answer = await embed({ model: 'model-a', input: 'x' });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { message: expect.any(String) } });
  });

  it('security: a reader may not embed and nothing reaches a service; other tenants and scopes embed on their own account', async () => {
    for (const { who, key, status } of limitedCallers(route.keys, {
      otherTenant: 200,
      otherCollection: 200,
    })) {
      const answer = await embed({ model: 'model-a', input: 'x' }, key);
      expect({ who, status: answer.status }).toEqual({ who, status });
    }
    // Two calls went through (the other tenant's and the scoped admin's), none for the reader.
    expect(route.services.modelA.received.filter((r) => r.path === '/v1/embeddings')).toHaveLength(2);
  });
});

describe('with no embedding service answering', () => {
  it("answers 503 for the models list and for embeddings, in OpenAI's shape", async () => {
    const bare = await startTestGateway();
    try {
      for (const [method, path, body] of [
        ['GET', '/v1/models', undefined],
        ['POST', '/v1/embeddings', { model: 'model-a', input: 'x' }],
      ] as const) {
        const answer = await bare.call(method, path, { body });
        expect({ path, status: answer.status }).toEqual({ path, status: 503 });
        expect(answer.body).toMatchObject({ error: { message: expect.any(String) } });
      }
    } finally {
      await bare.close();
    }
  });
});
