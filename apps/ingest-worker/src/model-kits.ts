import type { RecordedModel } from '@rag/contracts/collection-model';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ServedModel } from '@rag/service-clients/embedding-models';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import type { ModelSpace, ModelSpaces } from '@rag/vector-store/model-spaces';
import type { DocumentPipeline } from './document-pipeline.js';

/** What indexing with one embedding model takes: its (batching) client, its chunker, and its vector space. */
export interface ModelKit {
  model: ServedModel;
  embeddings: EmbeddingClient;
  pipeline: DocumentPipeline;
  store: ChunkVectorStore;
}

export interface ModelKits {
  /** The kit of the model a collection records (undefined: the default model); 409 when it is not served. */
  forCollection(collection: { name: string; model?: RecordedModel }): Promise<ModelKit>;
  /** The kit of a served model by name. */
  forModel(name: string): Promise<ModelKit>;
}

/**
 * The worker's routing table of models: every collection is chunked, embedded and written with the model it
 * records, through that model's embedding service and into that model's vector space. Clients and chunkers
 * are made once per model, so concurrent jobs of one model share their embedding requests.
 */
export function createModelKits(
  spaces: ModelSpaces,
  make: (model: ServedModel) => { embeddings: EmbeddingClient; pipeline: DocumentPipeline },
): ModelKits {
  const made = new Map<string, { embeddings: EmbeddingClient; pipeline: DocumentPipeline }>();
  function kit(space: ModelSpace): ModelKit {
    const key = `${space.model.info.name}@${space.model.url}`;
    let parts = made.get(key);
    if (!parts) {
      parts = make(space.model);
      made.set(key, parts);
    }
    return { model: space.model, store: space.store, ...parts };
  }
  return {
    async forCollection(collection) {
      return kit(await spaces.forCollection(collection.model, collection.name));
    },
    async forModel(name) {
      return kit(await spaces.forModel(name));
    },
  };
}
