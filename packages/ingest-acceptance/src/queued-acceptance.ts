import { Readable } from 'node:stream';
import { AppError } from '@rag/contracts/app-error';
import type { DocumentFieldName, DocumentFields } from '@rag/db/document-field-changes';
import {
  type DocumentRecord,
  deleteDocumentRow,
  setDocumentSource,
  transitionDocument,
  updateDocumentFields,
} from '@rag/db/document-repository';
import {
  type IngestVersionJob,
  maxInlineTextLength,
  type UpdateFieldsJob,
} from '@rag/ingest-contract/ingest-job';
import {
  type AcceptanceDeps,
  acceptDocument,
  type DocumentSubmission,
  type SubmittedContent,
} from './document-acceptance.js';

/** The jobs an accepted document leads to, as the queue takes them (it adds the trace context). */
export type AcceptedJob = Omit<IngestVersionJob, 'trace'> | Omit<UpdateFieldsJob, 'trace'>;

export interface JobQueue {
  enqueue(job: AcceptedJob): Promise<void>;
}

export interface QueueingDeps extends AcceptanceDeps {
  queue: JobQueue;
}

export interface QueuedAcceptance {
  /** 202: a version is queued to be built; 200: nothing to build. */
  status: 200 | 202;
  document: DocumentRecord;
  /** Title, metadata or ACL changed in place (the same content sent with other fields). */
  fieldsUpdated?: DocumentFieldName[];
}

export const queueUnavailableReason = 'The ingest queue was unavailable; send the document again';

/**
 * Accepts a document (`acceptDocument`) and queues what follows: the build of a new version, the vector rows'
 * update after a change of fields in place, or another attempt at a failed document sent again. When the job
 * cannot be queued the acceptance is taken back (a new document's row goes, a new version fails with the
 * reason), so the caller can simply send it again.
 */
export async function acceptAndQueue(
  deps: QueueingDeps,
  collection: { id: string; name: string },
  submission: Omit<DocumentSubmission, 'collectionId'>,
): Promise<QueuedAcceptance> {
  const accepted = await acceptDocument(deps, { ...submission, collectionId: collection.id });
  const { content } = submission;
  if (accepted.outcome === 'unchanged' || accepted.outcome === 'fields-updated') {
    const document = accepted.document;
    if (accepted.outcome === 'fields-updated') {
      await queueFieldsUpdate(deps, collection.name, document, accepted.previous);
    }
    if (document.status !== 'failed') {
      return {
        status: 200,
        document,
        ...(accepted.outcome === 'fields-updated' ? { fieldsUpdated: accepted.changed } : {}),
      };
    }
    // A failed document sent again is tried again (its content is unchanged).
    await transitionDocument(deps.pool, document.id, document.version, ['failed'], {
      status: 'queued',
      error: null,
    });
    const queued: DocumentRecord = { ...document, status: 'queued' };
    const prepared = await prepareBuild(deps, queued, content);
    if (!prepared) {
      throw new AppError('conflict', 'The document changed concurrently; send it again', { retryable: true });
    }
    await deps.queue.enqueue(prepared.job);
    return { status: 202, document: queued };
  }
  const { document } = accepted;
  let stored: string | null = null;
  try {
    const prepared = await prepareBuild(deps, document, content);
    stored = prepared?.stored ?? null;
    // Null: a newer version took over while the text was stored; its own acceptance queues its build.
    if (prepared) await deps.queue.enqueue(prepared.job);
  } catch (error) {
    if (accepted.outcome === 'created') {
      // Without a job the row would stay queued forever: take it back so the caller can simply retry.
      await deleteDocumentRow(deps.pool, document.id);
      for (const key of [stored, content.kind === 'stored' && content.upload ? content.key : null]) {
        if (key) await deps.storage.delete(key);
      }
    } else {
      await transitionDocument(deps.pool, document.id, document.version, ['queued'], {
        status: 'failed',
        error: queueUnavailableReason,
      });
    }
    throw error;
  }
  return { status: 202, document };
}

/** The build of a document's current version: the job reads the document's row, and its text if not stored. */
export function ingestVersionJob(document: DocumentRecord, text?: string): Omit<IngestVersionJob, 'trace'> {
  return {
    v: 2,
    type: 'ingest-version',
    tenantId: document.tenantId,
    documentId: document.id,
    version: document.version,
    ...(text !== undefined ? { text } : {}),
  };
}

/**
 * Where the version's build reads its content: the stored file the row names, the text in the job when it is
 * short, or else the text stored under the version's own key (so no two documents, nor two versions, share an
 * object, and deleting one never takes another's content). Null when a newer version took over meanwhile.
 */
async function prepareBuild(
  deps: AcceptanceDeps,
  document: DocumentRecord,
  content: SubmittedContent,
): Promise<{ job: Omit<IngestVersionJob, 'trace'>; stored: string | null } | null> {
  if (document.sourceKey !== null) return { job: ingestVersionJob(document), stored: null };
  if (content.kind !== 'text') {
    // Stored content is recorded as the version's source when accepted; without one there is nothing to read.
    throw new AppError('conflict', 'The document changed concurrently; send it again', { retryable: true });
  }
  if (content.text.length <= maxInlineTextLength) {
    return { job: ingestVersionJob(document, content.text), stored: null };
  }
  const key = `documents/${document.tenantId}/${document.id}/v${document.version}/document.txt`;
  const bytes = Buffer.from(content.text, 'utf8');
  await deps.storage.put(key, Readable.from([bytes]), {
    size: bytes.length,
    contentType: `${content.mediaType}; charset=utf-8`,
  });
  if (!(await setDocumentSource(deps.pool, document.id, document.version, key))) {
    await deps.storage.delete(key);
    return null;
  }
  return { job: ingestVersionJob({ ...document, sourceKey: key }), stored: key };
}

/**
 * Has the worker, the one writer of the collection's vectors, give the document's vector rows the fields
 * PostgreSQL now holds. Without the job the rows would keep the old fields for good, so when the queue is
 * down the previous fields go back (best effort) and the caller's retry changes them again.
 */
export async function queueFieldsUpdate(
  deps: Pick<QueueingDeps, 'pool' | 'queue'>,
  collectionName: string,
  document: DocumentRecord,
  previous: DocumentFields,
): Promise<void> {
  try {
    await deps.queue.enqueue({
      v: 2,
      type: 'update-fields',
      tenantId: document.tenantId,
      collection: collectionName,
      documentId: document.id,
      changedAt: document.updatedAt.toISOString(),
      // The title is embedded and indexed with every chunk: a new one means indexing the chunks again.
      ...(previous.title !== document.title ? { titleChanged: true } : {}),
    });
  } catch (error) {
    await updateDocumentFields(deps.pool, document.tenantId, document.id, previous).catch(() => {});
    throw error;
  }
}
