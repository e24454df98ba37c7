import { type DocumentRecord, findDocument } from '@rag/db/document-repository';
import { bumpIndexVersion } from '@rag/db/index-version';
import type { UpdateFieldsJob } from '@rag/ingest-contract/ingest-job';
import type { VectorScope } from '@rag/vector-store/chunk-vector-store';
import { dropFromReindexTarget, kitOfDocument } from './collection-kit.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';
import { reindexDocument } from './reindex.js';

/** The "update fields" job: a document's title, metadata or ACL changed in PostgreSQL. */
export async function updateDocumentFields(deps: ProcessorDeps, job: UpdateFieldsJob): Promise<JobOutcome> {
  const document = await findDocument(deps.pool, job.tenantId, job.documentId);
  if (!document || document.status === 'deleting') return 'skipped';
  await applyFields(deps, document, { titleChanged: job.titleChanged === true });
  return 'updated';
}

/**
 * Gives a document's vector rows the ACL and metadata PostgreSQL holds now. PostgreSQL changed first and
 * has the last word in every search (its join re-applies the ACL and the metadata filter), so a narrowed
 * ACL hides the document at once and the rows only catch up; a widened one shows it once this has run.
 * The answer cache is moved on afterwards, as answers cached in between were read from the old rows.
 */
export async function applyFields(
  deps: ProcessorDeps,
  document: DocumentRecord,
  change: { titleChanged: boolean },
): Promise<void> {
  const scope: VectorScope = { tenantId: document.tenantId, collectionId: document.collectionId };
  await deps.collectionLock.withLock(document.collectionId, async () => {
    // Read under the lock: the fields of the latest change, whichever job came first, and the model the
    // collection is on now.
    const current = await findDocument(deps.pool, document.tenantId, document.id);
    if (!current || current.status === 'deleting') return;
    const kit = await kitOfDocument(deps, current);
    if (!kit) return;
    const store = kit.store;
    await store.updateDocumentFields(scope, current.id, { acl: current.acl, metadata: current.metadata });
    await store.flush();
    // Chunks are embedded and indexed with the title: a new title means indexing them again.
    if (change.titleChanged) {
      await reindexDocument({ ...deps, embeddings: kit.embeddings, store }, current);
    }
    await dropFromReindexTarget(deps, current);
  });
  await bumpIndexVersion(deps.pool, document.collectionId);
}
