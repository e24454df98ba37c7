import {
  type ChunkRecord,
  type DocumentChunk,
  type DocumentChunkRow,
  documentChunkColumns,
  insertChunkRows,
  type StoredChunk,
  selectStoredChunks,
  toDocumentChunk,
} from './chunk-repository.js';
import type { Queryable } from './pool.js';
import { documentStamp as stamp } from './reindex-repository.js';

/**
 * Chunks cut again for the model a collection moves to (migration 9). While a reindex runs, the old model serves
 * the document's rows in `chunks`; the new chunks wait in `reindex_chunks` with the version and change stamp of
 * the document they were cut from, and take the place of its rows in the switch's transaction. A document that
 * changed since it was cut (its stamp moved) is cut again before the switch, never swapped in stale.
 */

/** What cutting a document again needs of it: the version searchers see, its shown title, fields, stamp. */
export interface RechunkDocument {
  id: string;
  tenantId: string;
  collectionId: string;
  version: number;
  title: string | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  stamp: string;
}

/** The given documents of a collection that are ready and not being deleted, as they are now. */
export async function readRechunkDocuments(
  db: Queryable,
  collectionId: string,
  documentIds: readonly string[],
): Promise<RechunkDocument[]> {
  if (documentIds.length === 0) return [];
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    ready_version: number;
    title: string | null;
    metadata: Record<string, unknown>;
    acl: string[] | null;
    stamp: string;
  }>(
    `SELECT d.id, d.tenant_id, d.ready_version, COALESCE(d.title, d.source_title) AS title, d.metadata, d.acl,
            ${stamp('d')} AS stamp
       FROM documents d
      WHERE d.collection_id = $1 AND d.id = ANY($2::uuid[]) AND d.ready_version IS NOT NULL
        AND d.status <> 'deleting'
      ORDER BY d.id`,
    [collectionId, [...documentIds]],
  );
  return rows.map((row) => ({
    id: row.id,
    tenantId: row.tenant_id,
    collectionId,
    version: row.ready_version,
    title: row.title,
    metadata: row.metadata,
    acl: row.acl,
    stamp: row.stamp,
  }));
}

/** Every chunk of a document's version, in reading order, with its place in the extracted text. */
export async function readVersionChunks(
  db: Queryable,
  documentId: string,
  version: number,
): Promise<DocumentChunk[]> {
  const { rows } = await db.query<DocumentChunkRow>(
    `SELECT ${documentChunkColumns} FROM chunks WHERE document_id = $1 AND document_version = $2 ORDER BY ordinal`,
    [documentId, version],
  );
  return rows.map(toDocumentChunk);
}

/** Keeps a document's new chunks for the switch, in place of any kept earlier by this reindex. */
export async function stageDocumentChunks(
  db: Queryable,
  reindexId: string,
  document: { id: string; version: number; stamp: string },
  chunks: readonly ChunkRecord[],
): Promise<void> {
  await db.query('DELETE FROM reindex_chunks WHERE reindex_id = $1 AND document_id = $2', [
    reindexId,
    document.id,
  ]);
  await insertChunkRows(
    db,
    'reindex_chunks',
    {
      reindex_id: reindexId,
      document_id: document.id,
      document_version: document.version,
      document_stamp: document.stamp,
    },
    chunks,
  );
}

/** Drops every chunk this reindex kept (a fresh start, a cancel, a failure). */
export async function dropStagedChunks(db: Queryable, reindexId: string): Promise<void> {
  await db.query('DELETE FROM reindex_chunks WHERE reindex_id = $1', [reindexId]);
}

/** Drops the kept chunks of documents that changed, or are being deleted, since they were cut; answers how many documents. */
export async function dropStaleStagedChunks(db: Queryable, reindexId: string): Promise<number> {
  const { rows } = await db.query<{ document_id: string }>(
    `DELETE FROM reindex_chunks s USING documents d
      WHERE s.reindex_id = $1 AND d.id = s.document_id
        AND (d.status = 'deleting' OR d.ready_version IS DISTINCT FROM s.document_version
             OR ${stamp('d')} <> s.document_stamp)
      RETURNING s.document_id`,
    [reindexId],
  );
  return new Set(rows.map((row) => row.document_id)).size;
}

// Documents whose kept chunks still match them: these take the kept chunks at the switch.
const currentStaged = `
  SELECT DISTINCT s.document_id FROM reindex_chunks s JOIN documents d ON d.id = s.document_id
   WHERE s.reindex_id = $1 AND d.status <> 'deleting' AND d.ready_version = s.document_version
     AND ${stamp('d')} = s.document_stamp`;

/**
 * The chunks the collection will have right after the switch: its rows in `chunks`, except for documents with
 * kept chunks, which count with those. `staged` says which; the new model's index must hold exactly these ids.
 */
export async function listChunksAfterSwitch(
  db: Queryable,
  reindexId: string,
  collectionId: string,
): Promise<Array<{ id: string; documentId: string; staged: boolean }>> {
  const { rows } = await db.query<{ id: string; document_id: string; staged: boolean }>(
    `WITH staged AS (${currentStaged})
     SELECT c.id, c.document_id, false AS staged FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE c.collection_id = $2 AND d.status <> 'deleting'
        AND c.document_id NOT IN (SELECT document_id FROM staged)
     UNION ALL
     SELECT s.id, s.document_id, true FROM reindex_chunks s
      WHERE s.reindex_id = $1 AND s.document_id IN (SELECT document_id FROM staged)`,
    [reindexId, collectionId],
  );
  return rows.map((row) => ({ id: row.id, documentId: row.document_id, staged: row.staged }));
}

/** Kept chunks with everything their vector rows are built from (the document's fields as they are now). */
export function findStagedChunks(
  db: Queryable,
  reindexId: string,
  chunkIds: readonly string[],
): Promise<StoredChunk[]> {
  return selectStoredChunks(
    db,
    { table: 'reindex_chunks', column: 'reindex_id', value: reindexId },
    chunkIds,
  );
}

/**
 * In the switch's transaction: every document with current kept chunks has its rows in `chunks` replaced by
 * them (the BM25 statistics follow through the triggers on chunks), then this reindex's kept chunks go.
 * Answers how many documents took new chunks.
 */
export async function applyStagedChunks(db: Queryable, reindexId: string): Promise<number> {
  const { rows } = await db.query<{ document_id: string }>(
    `SELECT d.id AS document_id FROM documents d WHERE d.id IN (${currentStaged}) ORDER BY d.id FOR UPDATE`,
    [reindexId],
  );
  const documents = rows.map((row) => row.document_id);
  if (documents.length > 0) {
    await db.query('DELETE FROM chunks WHERE document_id = ANY($1::uuid[])', [documents]);
    await db.query(
      `INSERT INTO chunks (id, document_id, tenant_id, collection_id, document_version, ordinal, text, start_offset,
                           end_offset, token_ids, page, heading_path)
       SELECT s.id, s.document_id, d.tenant_id, d.collection_id, s.document_version, s.ordinal, s.text,
              s.start_offset, s.end_offset, s.token_ids, s.page, s.heading_path
         FROM reindex_chunks s JOIN documents d ON d.id = s.document_id
        WHERE s.reindex_id = $1 AND s.document_id = ANY($2::uuid[])`,
      [reindexId, documents],
    );
    await db.query(
      `UPDATE documents d SET chunk_count = n.chunks
         FROM (SELECT document_id, count(*)::int AS chunks FROM reindex_chunks
                WHERE reindex_id = $1 AND document_id = ANY($2::uuid[]) GROUP BY document_id) n
        WHERE d.id = n.document_id`,
      [reindexId, documents],
    );
  }
  await dropStagedChunks(db, reindexId);
  return documents.length;
}
