import { AppError } from '@rag/contracts/app-error';
import { checkCollectionModel } from '@rag/contracts/collection-model';
import { type Collection, findCollectionById, findCollectionByName } from '@rag/db/collection-repository';
import type { DocumentRecord } from '@rag/db/document-repository';
import { findRunningReindex } from '@rag/db/reindex-repository';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import type { DocumentPipeline } from './document-pipeline.js';
import type { ProcessorDeps } from './processor-deps.js';

/** The embedding client, chunker and vector store one collection is indexed with. */
export interface CollectionKit {
  embeddings: EmbeddingClient;
  pipeline: DocumentPipeline;
  store: ChunkVectorStore;
  /** The model's name (undefined: the only model, whichever it is). */
  model: string | undefined;
}

/** The collection a version 2 job names by name; a missing one (or one being deleted) is a bad job. */
export async function resolveCollection(
  deps: ProcessorDeps,
  job: { tenantId: string; collection: string },
): Promise<Collection> {
  const collection = await findCollectionByName(deps.pool, job.tenantId, job.collection);
  if (!collection || collection.deleting) {
    throw new AppError(
      'validation_failed',
      `Collection "${job.collection}" does not exist in tenant "${job.tenantId}"`,
    );
  }
  return collection;
}

/** The model a collection records, its client and its vector space; 409 when that model is not served. */
export async function kitFor(deps: ProcessorDeps, collection: Collection): Promise<CollectionKit> {
  if (deps.kits) {
    const kit = await deps.kits.forCollection(collection);
    return {
      embeddings: kit.embeddings,
      pipeline: kit.pipeline,
      store: kit.store,
      model: kit.model.info.name,
    };
  }
  if (collection.model) {
    checkCollectionModel(collection.model, await deps.embeddings.modelInfo(), collection.name);
  }
  return {
    embeddings: deps.embeddings,
    pipeline: deps.pipeline,
    store: await deps.vectorStore(),
    model: collection.model?.name,
  };
}

/** The kit of a document's collection (gone: undefined). */
export async function kitOfDocument(
  deps: ProcessorDeps,
  document: DocumentRecord,
): Promise<CollectionKit | undefined> {
  const collection = await findCollectionById(deps.pool, document.tenantId, document.collectionId);
  return collection && kitFor(deps, collection);
}

/**
 * While the collection moves to another model, a write that changes a document's vectors drops the
 * document's rows from the new model's space too: the reindex embeds it again, as it is then, before it
 * switches. Call with the collection's writer lock held.
 */
export async function dropFromReindexTarget(deps: ProcessorDeps, document: DocumentRecord): Promise<void> {
  if (!deps.kits) return;
  const reindex = await findRunningReindex(deps.pool, document.collectionId);
  if (!reindex) return;
  const target = await deps.kits.forModel(reindex.to.name);
  await target.store.deleteByDocument(
    { tenantId: document.tenantId, collectionId: document.collectionId },
    document.id,
  );
  await target.store.flush();
}
