import { join, resolve } from 'node:path';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The same path with the real multilingual model (multilingual-e5-small, 4-bit, dense only): search runs
 * on the signals the model has (dense and BM25), and says which.
 */
const repoRoot = findRepoRoot();
const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    modelDir: join(sharedDir, 'models', 'multilingual-e5-small-q4'),
    modelManifest: join(repoRoot, 'packages', 'models', 'manifests', 'multilingual-e5-small.json'),
  });
});

afterAll(async () => {
  await stack?.stop();
});

const corpus = {
  vacuum:
    'Empty the dust bin after every cleaning run and rinse the washable filter once a week with cold water.',
  travel:
    'Book flights and hotels through the corporate travel tool at least fourteen days before departure.',
  retention: 'Customer invoices are kept for ten years; support tickets are deleted two years after closing.',
  tokyo: '東京オフィスは渋谷駅から徒歩五分の場所にあります。受付は十二階です。',
  fuji: '富士山は標高3776メートルで、日本で最も高い山です。',
};

describe('search with a dense-only real model', () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'kb' } })).status).toBe(201);
    for (const [name, text] of Object.entries(corpus)) {
      const answer = await stack.call('POST', '/v1/collections/kb/documents', {
        body: { external_id: name, text },
      });
      ids[name] = answer.body.id;
    }
    for (const id of Object.values(ids)) await stack.waitForStatus(id, undefined, ['ready']);
  });

  it.each([
    ['how do I clean the filter of my robot vacuum', 'vacuum'],
    ['how long do we keep invoices', 'retention'],
    ['東京オフィスの受付は何階ですか', 'tokyo'],
    ['日本で一番高い山は', 'fuji'],
  ])('answers "%s" with %s first', async (query, expected) => {
    const { status, body } = await stack.call('POST', '/v1/search', {
      body: { collection: 'kb', query, top_k: 3 },
    });
    expect(status).toBe(200);
    expect(body.signals).toEqual(['dense', 'bm25']);
    expect(body.results[0].external_id).toBe(expected);
  });

  it('refuses the sparse mode, naming why', async () => {
    const { status, body } = await stack.call('POST', '/v1/search', {
      body: { collection: 'kb', query: 'invoices', mode: 'sparse' },
    });
    expect(status).toBe(422);
    expect(body.detail).toMatch(/sparse head/);
  });

  it('reports the model it serves', async () => {
    const info = await (
      await fetch(`${stack.services[0]!.url}/v1/model`, {
        headers: { 'x-service-token': stack.serviceToken },
      })
    ).json();
    expect(info).toMatchObject({ dim: 384, outputs: { dense: true, sparse: false, colbert: false } });
  });
});
