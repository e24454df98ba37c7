import type { DocumentStatus } from '@rag/contracts/public-api';
import type { DocumentFields } from './document-field-changes.js';
import type { Queryable } from './pool.js';

export interface DocumentRecord {
  id: string;
  tenantId: string;
  collectionId: string;
  externalId: string | null;
  title: string | null;
  contentHash: string;
  version: number;
  status: DocumentStatus;
  error: string | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  chunkCount: number;
  /** The version searchers see (null until a first version is ready). */
  readyVersion: number | null;
  /** The latest version's file in object storage; null for text sent inline. */
  sourceKey: string | null;
  mediaType: string | null;
  filename: string | null;
  pageCount: number | null;
  /** The title the latest version's file carries (or its file name); null for text sent inline. */
  sourceTitle: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DocumentRow {
  id: string;
  tenant_id: string;
  collection_id: string;
  external_id: string | null;
  title: string | null;
  content_hash: string;
  version: number;
  status: DocumentStatus;
  error: string | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  chunk_count: number;
  ready_version: number | null;
  source_key: string | null;
  media_type: string | null;
  filename: string | null;
  page_count: number | null;
  source_title: string | null;
  created_at: Date;
  updated_at: Date;
}

export const documentColumns =
  'id, tenant_id, collection_id, external_id, title, content_hash, version, status, error, metadata, acl, chunk_count, ready_version, source_key, media_type, filename, page_count, source_title, created_at, updated_at';

export function documentFromRow(row: DocumentRow): DocumentRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    collectionId: row.collection_id,
    externalId: row.external_id,
    title: row.title,
    contentHash: row.content_hash,
    version: row.version,
    status: row.status,
    error: row.error,
    metadata: row.metadata,
    acl: row.acl,
    chunkCount: row.chunk_count,
    readyVersion: row.ready_version,
    sourceKey: row.source_key,
    mediaType: row.media_type,
    filename: row.filename,
    pageCount: row.page_count,
    sourceTitle: row.source_title,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewDocument {
  tenantId: string;
  collectionId: string;
  externalId: string | null;
  title: string | null;
  contentHash: string;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  source?: DocumentSource;
}

/** Where a version's content lives when it is not sent inline. */
export interface DocumentSource {
  sourceKey: string | null;
  mediaType: string | null;
  filename: string | null;
}

/** Inserts a queued document; returns undefined when the external id is already taken in the collection. */
export async function insertDocument(db: Queryable, doc: NewDocument): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `INSERT INTO documents (tenant_id, collection_id, external_id, title, content_hash, status, metadata, acl,
                            source_key, media_type, filename)
     VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10)
     ON CONFLICT (collection_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
     RETURNING ${documentColumns}`,
    [
      doc.tenantId,
      doc.collectionId,
      doc.externalId,
      doc.title,
      doc.contentHash,
      JSON.stringify(doc.metadata),
      doc.acl,
      doc.source?.sourceKey ?? null,
      doc.source?.mediaType ?? null,
      doc.source?.filename ?? null,
    ],
  );
  return rows[0] && documentFromRow(rows[0]);
}

export interface NewVersion {
  contentHash: string;
  title: string | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  source: DocumentSource;
}

/**
 * Starts a new version of an existing document with other content; the version searchers see stays until
 * the new one is ready. Returns undefined when the content is the same (nothing to do) or the document is
 * being deleted.
 */
export async function startNewVersion(
  db: Queryable,
  id: string,
  next: NewVersion,
): Promise<(DocumentRecord & { previousSourceKey: string | null }) | undefined> {
  const { rows } = await db.query<DocumentRow & { old_source_key: string | null }>(
    `WITH old AS (SELECT id AS old_id, source_key AS old_source_key FROM documents WHERE id = $1 FOR UPDATE)
     UPDATE documents
        SET version = version + 1, content_hash = $2, title = $3, metadata = $4, acl = $5,
            source_key = $6, media_type = $7, filename = $8, status = 'queued', error = NULL, updated_at = now()
       FROM old
      WHERE id = old.old_id AND content_hash <> $2 AND status <> 'deleting'
      RETURNING ${documentColumns}, old.old_source_key`,
    [
      id,
      next.contentHash,
      next.title,
      JSON.stringify(next.metadata),
      next.acl,
      next.source.sourceKey,
      next.source.mediaType,
      next.source.filename,
    ],
  );
  return rows[0] && { ...documentFromRow(rows[0]), previousSourceKey: rows[0].old_source_key };
}

/**
 * Changes title, metadata and ACL in place (the fields given; the others stay). Version and content stay,
 * so nothing is re-embedded; the documents trigger bumps the collection's index version, so cached search
 * answers are not served again. Returns undefined for a document that is gone or being deleted.
 */
export async function updateDocumentFields(
  db: Queryable,
  tenantId: string,
  id: string,
  fields: Partial<DocumentFields>,
): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `UPDATE documents
        SET title = CASE WHEN $3 THEN $4 ELSE title END,
            metadata = CASE WHEN $5 THEN $6::jsonb ELSE metadata END,
            acl = CASE WHEN $7 THEN $8::text[] ELSE acl END,
            updated_at = now()
      WHERE tenant_id = $1 AND id = $2 AND status <> 'deleting'
      RETURNING ${documentColumns}`,
    [
      tenantId,
      id,
      fields.title !== undefined,
      fields.title ?? null,
      fields.metadata !== undefined,
      JSON.stringify(fields.metadata ?? {}),
      fields.acl !== undefined,
      fields.acl && fields.acl.length > 0 ? fields.acl : null,
    ],
  );
  return rows[0] && documentFromRow(rows[0]);
}

/** Records where a version's content was stored, once its key (which names the version) is known. */
export async function setDocumentSource(
  db: Queryable,
  id: string,
  version: number,
  sourceKey: string,
): Promise<boolean> {
  const result = await db.query('UPDATE documents SET source_key = $3 WHERE id = $1 AND version = $2', [
    id,
    version,
    sourceKey,
  ]);
  return result.rowCount === 1;
}

/** Locks a document's row for the rest of the transaction (the version flip and deletes serialise on it). */
export async function lockDocument(db: Queryable, id: string): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${documentColumns} FROM documents WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] && documentFromRow(rows[0]);
}

/** Records what extraction found out about the version being processed. */
export async function recordExtraction(
  db: Queryable,
  id: string,
  version: number,
  found: { mediaType: string; pageCount: number | null; sourceTitle?: string | null },
): Promise<void> {
  await db.query(
    'UPDATE documents SET media_type = $3, page_count = $4, source_title = $5 WHERE id = $1 AND version = $2',
    [id, version, found.mediaType, found.pageCount, found.sourceTitle ?? null],
  );
}

/** Every document of a collection with the version searchers see, for the doctor. */
export async function listCollectionDocuments(
  db: Queryable,
  collectionId: string,
): Promise<DocumentRecord[]> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${documentColumns} FROM documents WHERE collection_id = $1 ORDER BY id`,
    [collectionId],
  );
  return rows.map(documentFromRow);
}

/** Reads a document within its tenant: another tenant's id reads as missing. */
export async function findDocument(
  db: Queryable,
  tenantId: string,
  id: string,
): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${documentColumns} FROM documents WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0] && documentFromRow(rows[0]);
}

export async function findDocumentByExternalId(
  db: Queryable,
  collectionId: string,
  externalId: string,
): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${documentColumns} FROM documents WHERE collection_id = $1 AND external_id = $2`,
    [collectionId, externalId],
  );
  return rows[0] && documentFromRow(rows[0]);
}

export async function listDocumentIds(db: Queryable, collectionId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM documents WHERE collection_id = $1', [
    collectionId,
  ]);
  return rows.map((r) => r.id);
}

/**
 * Moves a document to a new status, but only from the statuses given: a delete that arrived meanwhile
 * (status 'deleting') is never overwritten by a finishing ingest. Returns whether the row changed.
 */
export async function transitionDocument(
  db: Queryable,
  id: string,
  version: number,
  from: DocumentStatus[],
  to: { status: DocumentStatus; error?: string | null; chunkCount?: number },
): Promise<boolean> {
  const result = await db.query(
    `UPDATE documents
        SET status = $4, error = $5, chunk_count = COALESCE($6, chunk_count), updated_at = now()
      WHERE id = $1 AND version = $2 AND status = ANY($3)`,
    [id, version, from, to.status, to.error ?? null, to.chunkCount ?? null],
  );
  return result.rowCount === 1;
}

/** Marks a document as being deleted so it leaves search results at once; false if it was not found. */
export async function markDocumentDeleting(
  db: Queryable,
  tenantId: string,
  id: string,
): Promise<DocumentRecord | undefined> {
  const { rows } = await db.query<DocumentRow>(
    `UPDATE documents SET status = 'deleting', updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${documentColumns}`,
    [tenantId, id],
  );
  return rows[0] && documentFromRow(rows[0]);
}

export async function deleteDocumentRow(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM documents WHERE id = $1', [id]);
}
