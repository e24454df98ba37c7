import { AppError } from '@rag/contracts/app-error';
import { type ChunkRecord, replaceChunks } from './chunk-repository.js';
import { changedFields, type DocumentFieldName, type DocumentFields } from './document-field-changes.js';
import {
  type DocumentRecord,
  type DocumentSource,
  findDocument,
  findDocumentByExternalId,
  insertDocument,
  lockDocument,
  type NewDocument,
  startNewVersion,
  updateDocumentFields,
} from './document-repository.js';
import { type Pool, type Queryable, withTransaction } from './pool.js';

export type VersionSwap =
  | {
      swapped: true;
      replacedChunkIds: string[];
      previousVersion: number | null;
      /**
       * The document's ACL and metadata when the version became visible. A change of fields that landed
       * while the version was embedded is not in its vector rows yet; the caller compares and updates them.
       */
      fields?: { acl: string[] | null; metadata: Record<string, unknown> };
    }
  | { swapped: false; reason: 'gone' | 'superseded' | 'deleting' };

/**
 * Makes `version` the one searchers see, in one transaction: the document's row is locked, its chunks are
 * replaced by the new version's and `ready_version` moves, so a concurrent search joins either the old
 * chunks or the new ones. The ids of the chunks that left PostgreSQL are returned, for the caller to remove
 * their vectors once this has committed (search ignores them from the commit on, since they no longer join).
 */
export async function swapDocumentVersion(
  pool: Pool,
  doc: { id: string; tenantId: string; collectionId: string; version: number },
  chunks: ChunkRecord[],
): Promise<VersionSwap> {
  return withTransaction(pool, async (client) => {
    const current = await lockDocument(client, doc.id);
    if (!current) return { swapped: false, reason: 'gone' };
    if (current.status === 'deleting') return { swapped: false, reason: 'deleting' };
    if (current.version !== doc.version) return { swapped: false, reason: 'superseded' };
    // Replace chunks in one transaction (the BM25 statistics follow through triggers on the chunks table).
    const removed = await replaceChunks(client, doc, chunks);
    await client.query(
      `UPDATE documents SET ready_version = $2, status = 'ready', error = NULL, chunk_count = $3, updated_at = now()
        WHERE id = $1`,
      [doc.id, doc.version, chunks.length],
    );
    const kept = new Set(chunks.map((c) => c.id));
    return {
      swapped: true,
      replacedChunkIds: removed.filter((id) => !kept.has(id)),
      previousVersion: current.readyVersion,
      fields: { acl: current.acl, metadata: current.metadata },
    };
  });
}

export type UpsertOutcome =
  | { outcome: 'created' | 'new-version'; document: DocumentRecord; previousSourceKey: string | null }
  | { outcome: 'unchanged'; document: DocumentRecord }
  /** The same content with another title, metadata or ACL: those changed in place, nothing to re-embed. */
  | {
      outcome: 'fields-updated';
      document: DocumentRecord;
      changed: DocumentFieldName[];
      /** The fields before, to put back if what follows the change cannot be done. */
      previous: DocumentFields;
    };

export interface UpsertOptions {
  /** Our id of the document to update (upstream jobs may name it instead of an external id). */
  existingId?: string | undefined;
  /**
   * Whether the caller may see an existing document (its ACL). One it may not see is neither read,
   * changed nor described: the clash with its external id is a conflict that names nothing of it.
   */
  canSee?: (existing: DocumentRecord) => boolean;
}

/**
 * Adds a document, or a new version of the one with the same external id (or id) when its content hash
 * differs; the same content is `unchanged`. Shared by the gateway and by upstream queue jobs, so both
 * follow one rule. A document being deleted answers a retryable conflict: after the delete it is new.
 */
export async function upsertDocument(
  db: Queryable,
  doc: NewDocument & { contentHash: string; source: DocumentSource },
  options: UpsertOptions = {},
): Promise<UpsertOutcome> {
  const { existingId, canSee } = options;
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = existingId
      ? await findDocument(db, doc.tenantId, existingId)
      : doc.externalId === null
        ? undefined
        : await findDocumentByExternalId(db, doc.collectionId, doc.externalId);
    if (existingId && !existing) throw new AppError('not_found', `Document ${existingId} not found`);
    if (existing && canSee && !canSee(existing)) {
      throw new AppError(
        'conflict',
        'Another document of this collection already has this external_id; choose another one',
      );
    }
    if (!existing) {
      const created = await insertDocument(db, doc);
      if (created) return { outcome: 'created', document: created, previousSourceKey: null };
      continue; // Someone else created it meanwhile: read it again.
    }
    if (existing.status === 'deleting') {
      throw new AppError('conflict', `Document ${existing.id} is being deleted; send it again afterwards`, {
        retryable: true,
        context: { document_id: existing.id },
      });
    }
    if (existing.contentHash === doc.contentHash) {
      const changed = changedFields(existing, doc);
      if (changed.length === 0) return { outcome: 'unchanged', document: existing };
      const updated = await updateDocumentFields(db, doc.tenantId, existing.id, doc);
      if (updated) {
        const previous = { title: existing.title, metadata: existing.metadata, acl: existing.acl };
        return { outcome: 'fields-updated', document: updated, changed, previous };
      }
      continue; // Deleted or being deleted meanwhile: read it again.
    }
    const bumped = await startNewVersion(db, existing.id, doc);
    if (bumped) {
      const { previousSourceKey, ...document } = bumped;
      return { outcome: 'new-version', document, previousSourceKey };
    }
  }
  throw new AppError('conflict', 'The document changed concurrently; send it again', { retryable: true });
}
