import { AppError } from '@rag/contracts/app-error';
import { type ChunkRecord, chunkColumns } from './chunk-repository.js';
import { changedFields, type DocumentFieldName, type DocumentFields } from './document-field-changes.js';
import {
  type DocumentRecord,
  type DocumentSource,
  findDocument,
  findDocumentByExternalId,
  insertDocument,
  type NewDocument,
  startNewVersion,
  updateDocumentFields,
} from './document-repository.js';
import type { Queryable } from './pool.js';

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
 * It is one statement, the `swap_document_version` function (migration 10): one round trip per document.
 */
export async function swapDocumentVersion(
  db: Queryable,
  doc: { id: string; tenantId: string; collectionId: string; version: number },
  chunks: ChunkRecord[],
): Promise<VersionSwap> {
  const { rows } = await db.query<{
    outcome: 'swapped' | 'gone' | 'deleting' | 'superseded';
    previous_version: number | null;
    acl: string[] | null;
    metadata: Record<string, unknown> | null;
    removed_ids: string[] | null;
  }>(
    `SELECT outcome, previous_version, acl, metadata, removed_ids
       FROM swap_document_version($1, $2, $3, $4, $5::uuid[], $6::int[], $7::text[], $8::int[], $9::int[],
                                  $10::text[], $11::int[], $12::jsonb[])`,
    [doc.id, doc.tenantId, doc.collectionId, doc.version, ...chunkColumns(chunks)],
  );
  const row = rows[0];
  if (!row) throw new AppError('internal', 'swap_document_version returned no row');
  if (row.outcome !== 'swapped') return { swapped: false, reason: row.outcome };
  // The BM25 statistics follow the chunks through the triggers on the chunks table.
  const kept = new Set(chunks.map((c) => c.id));
  return {
    swapped: true,
    replacedChunkIds: (row.removed_ids ?? []).filter((id) => !kept.has(id)),
    previousVersion: row.previous_version,
    fields: { acl: row.acl, metadata: row.metadata ?? {} },
  };
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
