import { AppError } from '@rag/contracts/app-error';
import { deleteCollection, findCollectionById } from '@rag/db/collection-repository';
import { findDocument, listDocumentIds } from '@rag/db/document-repository';
import { findLatestReindex } from '@rag/db/reindex-repository';
import type { DeleteCollectionJob } from '@rag/ingest-contract/ingest-job';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { kitFor } from './collection-kit.js';
import { deleteStoredFiles } from './delete-document.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';

/** The "delete-collection" job: every document's vectors in each space that holds them, sources and rows. */
export async function deleteWholeCollection(
  deps: ProcessorDeps,
  job: DeleteCollectionJob,
): Promise<JobOutcome> {
  const scope = { tenantId: job.tenantId, collectionId: job.collectionId };
  const collection = await findCollectionById(deps.pool, job.tenantId, job.collectionId);
  // Its model's space, the space of a reindex under way (its new model's rows) and that of the model it
  // moved from, whose vectors are kept for a while. A model no longer served leaves its vectors where they
  // are (unreachable: no collection has this id again); the rows go.
  const stores: ChunkVectorStore[] = [];
  const latest = deps.kits && (await findLatestReindex(deps.pool, job.collectionId));
  const other =
    latest?.state === 'running'
      ? latest.to.name
      : latest?.state === 'switched' && latest.oldDroppedAt === null
        ? latest.from?.name
        : undefined;
  const kits = deps.kits;
  const spaces = [
    () => (collection ? kitFor(deps, collection).then((kit) => kit.store) : deps.vectorStore()),
    ...(other && kits ? [() => kits.forModel(other).then((kit) => kit.store)] : []),
  ];
  for (const space of spaces) {
    try {
      stores.push(await space());
    } catch (error) {
      if (error instanceof AppError && (error.code === 'conflict' || error.code === 'not_found')) {
        deps.logger.warn(
          { err: error, collection_id: job.collectionId },
          'collection deleted without its vectors of a model that is not served',
        );
        continue;
      }
      throw error;
    }
  }
  const documentIds = await listDocumentIds(deps.pool, job.collectionId);
  await deps.collectionLock.withLock(job.collectionId, async (signal) => {
    for (const store of stores) {
      for (const documentId of documentIds) {
        signal.throwIfAborted();
        await store.deleteByDocument(scope, documentId);
      }
      signal.throwIfAborted();
      await store.flush();
    }
  });
  for (const documentId of documentIds) {
    const document = await findDocument(deps.pool, job.tenantId, documentId);
    if (document) await deleteStoredFiles(deps, document);
  }
  await deleteCollection(deps.pool, job.collectionId);
  return 'deleted';
}
