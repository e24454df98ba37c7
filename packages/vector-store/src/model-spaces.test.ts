import { AppError } from '@rag/contracts/app-error';
import type { ModelInfo } from '@rag/contracts/embedding-api';
import type { EmbeddingModels, ServedModel } from '@rag/service-clients/embedding-models';
import { describe, expect, it } from 'vitest';
import type { ChunkVectorStore, VectorSpace } from './chunk-vector-store.js';
import { createModelSpaces } from './model-spaces.js';

const info = (name: string, dim: number, manifestHash: string): ModelInfo => ({
  name,
  dim,
  maxLength: 512,
  outputs: { dense: true, sparse: false, colbert: false },
  manifestHash,
});

/** Two served models, the first the default; `get` of any other name is a 404, as the real table answers. */
function servedModels(): Pick<EmbeddingModels, 'list' | 'default' | 'get'> {
  const served = [info('small', 32, 'a'.repeat(64)), info('large', 48, 'b'.repeat(64))].map(
    (model, index) => ({ info: model, url: `http://model-${index}`, isDefault: index === 0 }) as ServedModel,
  );
  return {
    list: async () => served,
    default: async () => served[0]!,
    async get(name) {
      const found = served.find((model) => model.info.name === name);
      if (!found) throw new AppError('not_found', `The model ${name} does not exist`);
      return found;
    },
  };
}

/** Stores that record their space; the first `failing` of them fail to get ready. */
function storeFactory(failing = 0) {
  const made: VectorSpace[] = [];
  let closed = 0;
  const create = (space: VectorSpace) => {
    made.push(space);
    const fails = made.length <= failing;
    return {
      space,
      ensureReady: async () => {
        if (fails) throw new AppError('dependency_unavailable', 'Milvus is down', { retryable: true });
      },
      close: async () => {
        closed++;
      },
    } as unknown as ChunkVectorStore;
  };
  return { create, made, closed: () => closed };
}

describe('model spaces', () => {
  it('opens one space per model, the default for a collection that records none, and keeps it', async () => {
    const stores = storeFactory();
    const spaces = createModelSpaces(servedModels(), stores.create);
    const unnamed = await spaces.forCollection(undefined);
    const large = await spaces.forCollection({ name: 'large', manifestHash: 'b'.repeat(64) });
    expect(unnamed.model.info.name).toBe('small');
    expect(unnamed.store.space).toEqual({ model: 'small', dim: 32, hasSparse: false });
    expect(large.store.space).toEqual({ model: 'large', dim: 48, hasSparse: false });
    expect((await spaces.forModel('small')).store).toBe(unnamed.store);
    expect(stores.made).toHaveLength(2);
    await spaces.close();
    expect(stores.closed()).toBe(2);
  });

  it('answers 409 for a recorded model that is not served, or served with another manifest', async () => {
    const spaces = createModelSpaces(servedModels(), storeFactory().create);
    await expect(
      spaces.forCollection({ name: 'gone', manifestHash: 'c'.repeat(64) }, 'kb'),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('Collection "kb" was created on the model gone'),
    });
    await expect(spaces.forCollection({ name: 'large', manifestHash: 'c'.repeat(64) })).rejects.toMatchObject(
      {
        code: 'conflict',
        message: expect.stringContaining('the manifest of large changed'),
      },
    );
    await expect(spaces.forModel('gone')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('builds a space again after it failed to get ready', async () => {
    const stores = storeFactory(1);
    const spaces = createModelSpaces(servedModels(), stores.create);
    await expect(spaces.forModel('large')).rejects.toMatchObject({ code: 'dependency_unavailable' });
    expect(stores.closed()).toBe(1);
    expect((await spaces.forModel('large')).store.space.model).toBe('large');
    expect(stores.made).toHaveLength(2);
  });
});
