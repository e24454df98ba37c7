import { AppError } from '@rag/contracts/app-error';
import { checkCollectionModel, type RecordedModel } from '@rag/contracts/collection-model';
import type { EmbeddingModels, ServedModel } from '@rag/service-clients/embedding-models';
import type { ChunkVectorStore, VectorSpace } from './chunk-vector-store.js';

/** A served model with the vector space that holds its vectors. */
export interface ModelSpace {
  model: ServedModel;
  store: ChunkVectorStore;
}

export interface ModelSpaces {
  /**
   * The space of the model a collection records (undefined: the default model). A model no service serves,
   * or served with another manifest, is a 409 naming both: the collection must be moved, or its model served.
   */
  forCollection(recorded: RecordedModel | undefined, collection?: string): Promise<ModelSpace>;
  /** The space of a served model by name (404 when none serves it). */
  forModel(name: string): Promise<ModelSpace>;
  close(): Promise<void>;
}

/** The vector space of a served model, as every service names it. */
export function spaceOf(model: ServedModel): VectorSpace {
  return { model: model.info.name, dim: model.info.dim, hasSparse: model.info.outputs.sparse };
}

/**
 * One vector space (Milvus collection) per embedding model, opened on first use and kept: collections on
 * different models are searched and written in their own model's space. A store that failed to get ready
 * is built again on the next call.
 */
export function createModelSpaces(
  models: Pick<EmbeddingModels, 'default' | 'get'>,
  create: (space: VectorSpace) => ChunkVectorStore,
): ModelSpaces {
  const stores = new Map<string, Promise<ChunkVectorStore>>();

  function storeFor(model: ServedModel): Promise<ChunkVectorStore> {
    const space = spaceOf(model);
    const key = `${space.model}/${space.dim}`;
    let pending = stores.get(key);
    if (!pending) {
      pending = (async () => {
        const store = create(space);
        try {
          await store.ensureReady();
        } catch (error) {
          await store.close().catch(() => {});
          throw error;
        }
        return store;
      })();
      pending.catch(() => stores.delete(key));
      stores.set(key, pending);
    }
    return pending;
  }

  async function forModel(name: string): Promise<ModelSpace> {
    const model = await models.get(name);
    return { model, store: await storeFor(model) };
  }

  return {
    forModel,
    async forCollection(recorded, collection) {
      if (!recorded) {
        const model = await models.default();
        return { model, store: await storeFor(model) };
      }
      let model: ServedModel;
      try {
        model = await models.get(recorded.name);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'not_found') throw error;
        throw new AppError(
          'conflict',
          `${collection === undefined ? 'The collection' : `Collection "${collection}"`} was created on the model ${recorded.name}, which no embedding service serves now; serve ${recorded.name} again or move the collection to a served model`,
          { context: { recorded: recorded.name } },
        );
      }
      checkCollectionModel(recorded, model.info, collection);
      return { model, store: await storeFor(model) };
    },
    async close() {
      const settled = await Promise.allSettled(stores.values());
      stores.clear();
      await Promise.all(
        settled.map((answer) => (answer.status === 'fulfilled' ? answer.value.close() : undefined)),
      );
    },
  };
}
