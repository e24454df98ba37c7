import { tenantIdSchema, uuidSchema } from '@rag/contracts/identifiers';
import { findCollectionById, findCollectionByName } from '@rag/db/collection-repository';
import {
  type DocumentRecord,
  findDocument,
  findDocumentByExternalId,
  transitionDocument,
} from '@rag/db/document-repository';
import type {
  IngestDocumentJobV1,
  IngestDocumentJobV2,
  IngestJob,
  IngestVersionJob,
} from '@rag/ingest-contract/ingest-job';
import type { ProcessorDeps } from './processor-deps.js';

/**
 * Records the final failure of an ingest on the document, for callers polling its status, and publishes
 * `document.failed`. A document whose job never got as far as a row (a bad upstream job) has nothing to mark.
 */
export async function markJobFailed(deps: ProcessorDeps, job: IngestJob, message: string): Promise<void> {
  if (job.type !== 'ingest' && job.type !== 'ingest-version') return;
  await failDocument(deps, await findFailedJobDocument(deps, job), message);
}

/**
 * An invalid job may still name a document (e.g. the gateway's row for it): that document shows the
 * reason instead of waiting forever. Only ids that look right are followed.
 */
export async function markJobInvalid(deps: ProcessorDeps, data: unknown, reason: string): Promise<void> {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const { tenantId, documentId } = fields;
  if (typeof tenantId !== 'string' || typeof documentId !== 'string') return;
  if (!uuidSchema.safeParse(documentId).success || !tenantIdSchema.safeParse(tenantId).success) return;
  await failDocument(deps, await findDocument(deps.pool, tenantId, documentId), reason);
}

async function failDocument(
  deps: ProcessorDeps,
  document: DocumentRecord | undefined,
  message: string,
): Promise<void> {
  if (!document) return;
  const marked = await transitionDocument(
    deps.pool,
    document.id,
    document.version,
    ['queued', 'processing'],
    {
      status: 'failed',
      error: message,
    },
  );
  if (!marked) return;
  const collection = await findCollectionById(deps.pool, document.tenantId, document.collectionId);
  await deps.events.publish({
    type: 'document.failed',
    status: 'failed',
    tenantId: document.tenantId,
    collection: collection?.name ?? '',
    collectionId: document.collectionId,
    documentId: document.id,
    externalId: document.externalId,
    version: document.version,
    chunks: document.readyVersion === null ? 0 : document.chunkCount,
    error: message,
  });
}

async function findFailedJobDocument(
  deps: ProcessorDeps,
  job: IngestDocumentJobV1 | IngestDocumentJobV2 | IngestVersionJob,
): Promise<DocumentRecord | undefined> {
  if (job.documentId !== undefined) {
    const document = await findDocument(deps.pool, job.tenantId, job.documentId);
    return document && (job.version === undefined || document.version === job.version) ? document : undefined;
  }
  if (job.type !== 'ingest' || job.v !== 2 || job.externalId === undefined) return undefined;
  const collection = await findCollectionByName(deps.pool, job.tenantId, job.collection);
  return collection && findDocumentByExternalId(deps.pool, collection.id, job.externalId);
}
