import {
  type DocumentRecord,
  deleteDocumentRow,
  findDocument,
  findDocumentByExternalId,
  markDocumentDeleting,
} from '@rag/db/document-repository';
import type { DeleteDocumentJobV1, DeleteDocumentJobV2 } from '@rag/ingest-contract/ingest-job';
import { dropFromReindexTarget, kitOfDocument, resolveCollection } from './collection-kit.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';

type DeleteDocumentJob = DeleteDocumentJobV1 | DeleteDocumentJobV2;

/** The "delete" job: a document's vectors, its stored source and its row go (by id, or by external id in v2). */
export async function deleteDocument(deps: ProcessorDeps, job: DeleteDocumentJob): Promise<JobOutcome> {
  let document: DocumentRecord | undefined;
  if (job.documentId !== undefined) {
    document = await findDocument(deps.pool, job.tenantId, job.documentId);
  } else if (job.v === 2 && job.externalId !== undefined) {
    const collection = await resolveCollection(deps, job);
    document = await findDocumentByExternalId(deps.pool, collection.id, job.externalId);
  }
  if (!document) return 'skipped';
  // Leaves search results at once, and any ingest still running for it stops at its swap.
  await markDocumentDeleting(deps.pool, document.tenantId, document.id);
  const scope = { tenantId: document.tenantId, collectionId: document.collectionId };
  const found = document;
  await deps.collectionLock.withLock(document.collectionId, async (signal) => {
    // The model the collection is on when the lock is held (a reindex may have switched it meanwhile).
    const kit = await kitOfDocument(deps, found);
    if (kit) {
      signal.throwIfAborted();
      await kit.store.deleteByDocument(scope, found.id);
      signal.throwIfAborted();
      await kit.store.flush();
    }
    await dropFromReindexTarget(deps, found);
  });
  await deleteStoredFiles(deps, document);
  await deleteDocumentRow(deps.pool, document.id);
  return 'deleted';
}

/** The document's source in object storage (text sent inline has none). */
export async function deleteStoredFiles(deps: ProcessorDeps, document: DocumentRecord): Promise<void> {
  if (document.sourceKey) await deps.storage.delete(document.sourceKey);
}
