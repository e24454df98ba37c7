import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RagRetriever as LangChainRetriever } from '@rag/langchain/rag-retriever';
import { RagRetriever as LlamaIndexRetriever } from '@rag/llamaindex/rag-retriever';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/** The LangChain and LlamaIndex.TS retrievers against the running services, as an LLM app would use them. */

let stack: Stack;
let modelDir: string;
let gatewayUrl: string;
let key: string;
let travelId: string;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir });
  gatewayUrl = stack.services.at(-1)!.url;
  expect((await stack.call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  const created = await stack.call('POST', '/v1/api-keys', {
    body: { tenant: 'acme', role: 'editor', collections: ['handbook'] },
  });
  key = created.body.key;
  const admin = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'acme', role: 'admin' } });
  expect(
    (await stack.call('POST', '/v1/collections', { key: admin.body.key, body: { name: 'handbook' } })).status,
  ).toBe(201);
  const accepted = await stack.call('POST', '/v1/collections/handbook/documents', {
    key,
    body: {
      external_id: 'travel-policy',
      title: 'Travel policy',
      media_type: 'text/markdown',
      text: '# Travel\n\n## Booking\n\nBook flights and hotels through the corporate travel tool at least fourteen days ahead.',
    },
  });
  expect(accepted.status).toBe(202);
  travelId = accepted.body.id;
  expect((await stack.waitForStatus(travelId, key, ['ready', 'failed'])).status).toBe('ready');
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('framework retrievers', () => {
  it('LangChain: invoke returns the document with its citation fields in the metadata', async () => {
    const retriever = new LangChainRetriever({
      baseUrl: gatewayUrl,
      apiKey: key,
      collection: 'handbook',
      topK: 3,
    });
    const [first] = await retriever.invoke('book flights and hotels');
    expect(first?.pageContent).toContain('fourteen days');
    expect(first?.metadata).toMatchObject({
      document_id: travelId,
      external_id: 'travel-policy',
      title: 'Travel policy',
      heading_path: ['Travel', 'Booking'],
      page: null,
    });
    expect(typeof first?.metadata.score).toBe('number');
  });

  it('LlamaIndex: retrieve returns scored nodes with the same metadata', async () => {
    const retriever = new LlamaIndexRetriever({ baseUrl: gatewayUrl, apiKey: key, collection: 'handbook' });
    const [first] = await retriever.retrieve('book flights and hotels');
    expect(first?.node.metadata).toMatchObject({ document_id: travelId, external_id: 'travel-policy' });
    expect(first?.score).toBe(first?.node.metadata.score);
    expect(first?.node.id_).toBe(first?.node.metadata.id);
  });

  it('a collection outside the key is an error, never another collection', async () => {
    const retriever = new LangChainRetriever({ baseUrl: gatewayUrl, apiKey: key, collection: 'other' });
    await expect(retriever.invoke('book flights')).rejects.toMatchObject({ status: 404 });
  });
});
