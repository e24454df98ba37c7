import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelInfo } from '@rag/contracts/embedding-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddingModels } from './embedding-models.js';

/**
 * The routing table's decisions: which service serves a name, what an unknown name or a silent service answers.
 * Each "service" is a local HTTP server answering /v1/model as an embedding service does.
 */
const token = 'routing-table-token-0123456789abcdef';
const servers: Server[] = [];
const served = new Map<string, string>();
/** Requests for /v1/model each service answered, by URL. */
const asked = new Map<string, number>();

async function modelService(name: string): Promise<string> {
  const info: ModelInfo = {
    name,
    dim: 32,
    maxLength: 512,
    outputs: { dense: true, sparse: false, colbert: false },
  };
  const server = createServer((req, res) => {
    if (req.url !== '/v1/model' || req.headers['x-service-token'] !== token) {
      res.writeHead(404).end();
      return;
    }
    asked.set(url, (asked.get(url) ?? 0) + 1);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ...info, name: served.get(url) ?? name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return url;
}

let e5: string;
let bge: string;
const silent = 'http://127.0.0.1:9';

beforeAll(async () => {
  e5 = await modelService('e5');
  bge = await modelService('bge');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('the routing table of embedding models', () => {
  it('names each model by what its service reports, the first URL the default', async () => {
    const models = createEmbeddingModels({ defaultUrl: e5, otherUrls: [bge], serviceToken: token });
    const listed = await models.list();
    expect(listed.map((m) => [m.info.name, m.url, m.isDefault])).toEqual([
      ['e5', e5, true],
      ['bge', bge, false],
    ]);
    expect((await models.get('bge')).url).toBe(bge);
    expect((await models.default()).info.name).toBe('e5');
  });

  it('answers 404 naming the served models for an unknown name', async () => {
    const models = createEmbeddingModels({ defaultUrl: e5, otherUrls: [bge], serviceToken: token });
    await expect(models.get('gpt')).rejects.toMatchObject({
      code: 'not_found',
      message: 'The model gpt does not exist; served models: e5, bge',
    });
  });

  it('answers 503, not 404, while a service that might serve the name does not answer', async () => {
    const models = createEmbeddingModels({ defaultUrl: e5, otherUrls: [silent], serviceToken: token });
    await expect(models.get('bge')).rejects.toMatchObject({ code: 'dependency_unavailable' });
    expect((await models.list()).map((m) => m.info.name)).toEqual(['e5']);
    expect((await models.get('e5')).url).toBe(e5);
  });

  it('finds a model deployed behind a URL after the table was last read, without waiting for the refresh', async () => {
    const models = createEmbeddingModels({
      defaultUrl: e5,
      otherUrls: [bge],
      serviceToken: token,
      refreshMs: 3_600_000,
      recheckMs: 0,
    });
    expect((await models.list()).map((m) => m.info.name)).toEqual(['e5', 'bge']);
    served.set(bge, 'bge-v2');
    try {
      expect((await models.list()).map((m) => m.info.name)).toEqual(['e5', 'bge']);
      expect((await models.get('bge-v2')).url).toBe(bge);
    } finally {
      served.delete(bge);
    }
  });

  it("answers a served model's modelInfo() from the table, with no request of the client's own", async () => {
    const models = createEmbeddingModels({
      defaultUrl: e5,
      otherUrls: [bge],
      serviceToken: token,
      refreshMs: 3_600_000,
    });
    const bgeModel = await models.get('bge');
    expect(asked.get(e5)).toBeGreaterThan(0);
    const before = { e5: asked.get(e5) ?? 0, bge: asked.get(bge) ?? 0 };
    expect((await models.defaultClient.modelInfo()).name).toBe('e5');
    expect((await bgeModel.client.modelInfo()).name).toBe('bge');
    expect((await (await models.default()).client.modelInfo()).name).toBe('e5');
    // Finding bge asked every service once: both are in the table, and no client asked again.
    expect({ e5: asked.get(e5) ?? 0, bge: asked.get(bge) ?? 0 }).toEqual(before);
  });

  it("check() asks the default model's service now and refreshes the table; it throws while that service is down", async () => {
    const models = createEmbeddingModels({ defaultUrl: e5, serviceToken: token, refreshMs: 3_600_000 });
    expect((await models.default()).info.name).toBe('e5');
    served.set(e5, 'e5-v2');
    try {
      expect((await models.defaultClient.modelInfo()).name).toBe('e5');
      const before = asked.get(e5) ?? 0;
      await models.check();
      expect(asked.get(e5)).toBe(before + 1);
      expect((await models.defaultClient.modelInfo()).name).toBe('e5-v2');
      expect((await models.default()).info.name).toBe('e5-v2');
    } finally {
      served.delete(e5);
    }
    const down = createEmbeddingModels({ defaultUrl: silent, otherUrls: [e5], serviceToken: token });
    await expect(down.check()).rejects.toMatchObject({ code: 'dependency_unavailable' });
  });
});
