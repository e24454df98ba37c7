import type { Queryable } from './pool.js';

export interface ChunkRecord {
  id: string;
  ordinal: number;
  text: string;
  startOffset: number;
  endOffset: number;
  /**
   * The lexical term ids this chunk adds to its collection's BM25 statistics (`@rag/lexical/analyzer`; its
   * context line's only where no earlier chunk of the document had them); triggers keep the statistics.
   */
  tokenIds?: number[];
  /** Where the chunk sits in the source: its page (PDF, slides) and the headings above it. */
  page?: number | null;
  headingPath?: string[];
}

export interface ChunkWithDocument {
  chunkId: string;
  documentId: string;
  externalId: string | null;
  title: string | null;
  text: string;
  metadata: Record<string, unknown>;
  /** Character offsets of the chunk in the document's extracted text, its page and heading path. */
  startOffset: number;
  endOffset: number;
  page: number | null;
  headingPath: string[];
}

/**
 * Replaces every chunk of a document with the chunks of the given version (call inside a transaction) and
 * returns the ids of the chunks it removed.
 */
export async function replaceChunks(
  db: Queryable,
  doc: { id: string; tenantId: string; collectionId: string; version: number },
  chunks: ChunkRecord[],
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('DELETE FROM chunks WHERE document_id = $1 RETURNING id', [
    doc.id,
  ]);
  await insertChunkRows(
    db,
    'chunks',
    {
      document_id: doc.id,
      tenant_id: doc.tenantId,
      collection_id: doc.collectionId,
      document_version: doc.version,
    },
    chunks,
  );
  return rows.map((row) => row.id);
}

/**
 * Writes chunk rows into `chunks`, or into `reindex_chunks` where a reindex keeps them until its switch: `fixed`
 * holds the columns every row shares (the document's, and the reindex's), the chunks fill the rest.
 */
export async function insertChunkRows(
  db: Queryable,
  table: 'chunks' | 'reindex_chunks',
  fixed: Record<string, string | number>,
  chunks: readonly ChunkRecord[],
): Promise<void> {
  if (chunks.length === 0) return;
  const fixedColumns = Object.keys(fixed);
  const first = fixedColumns.length + 1;
  const unnest = ['uuid', 'int', 'text', 'int', 'int', 'text', 'int', 'jsonb'].map(
    (type, i) => `$${first + i}::${type}[]`,
  );
  await db.query(
    `INSERT INTO ${table} (${fixedColumns.join(', ')}, id, ordinal, text, start_offset, end_offset, token_ids, page,
                           heading_path)
     SELECT ${fixedColumns.map((_, i) => `$${i + 1}`).join(', ')}, c.id, c.ordinal, c.text, c.start_offset,
            c.end_offset, c.token_ids::int[], c.page, ARRAY(SELECT jsonb_array_elements_text(c.heading_path))
       FROM unnest(${unnest.join(', ')})
            AS c(id, ordinal, text, start_offset, end_offset, token_ids, page, heading_path)`,
    [...Object.values(fixed), ...chunkColumns(chunks)],
  );
}

/**
 * The chunks as one array per column (id, ordinal, text, start and end offset, token ids, page, heading path),
 * for an `unnest` of uuid[], int[], text[], int[], int[], text[], int[] and jsonb[].
 */
export function chunkColumns(chunks: readonly ChunkRecord[]): unknown[] {
  return [
    chunks.map((c) => c.id),
    chunks.map((c) => c.ordinal),
    chunks.map((c) => c.text),
    chunks.map((c) => c.startOffset),
    chunks.map((c) => c.endOffset),
    // Arrays of different lengths cannot share one unnest, so each travels as an array literal.
    chunks.map((c) => (c.tokenIds ? `{${c.tokenIds.join(',')}}` : null)),
    chunks.map((c) => c.page ?? null),
    chunks.map((c) => JSON.stringify(c.headingPath ?? [])),
  ];
}

/** Ids of every chunk of the versions searchers see in a collection: what the doctor compares with Milvus. */
export async function listCollectionChunkIds(db: Queryable, collectionId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE c.collection_id = $1 AND d.status <> 'deleting'
      ORDER BY c.document_id, c.ordinal`,
    [collectionId],
  );
  return rows.map((r) => r.id);
}

/** A stored chunk with everything its vector row is built from. */
export interface StoredChunk {
  chunkId: string;
  tenantId: string;
  collectionId: string;
  documentId: string;
  text: string;
  /** The title its document shows and its heading path: what its context line is made of. */
  title: string | null;
  headingPath: string[];
  /** The term ids it counts in BM25's statistics; null for chunks stored before they were kept. */
  tokenIds: number[] | null;
  metadata: Record<string, unknown>;
  acl: string[] | null;
}

/** The given chunks of a collection with their document's metadata and ACL, for rebuilding their vectors. */
export function findStoredChunks(
  db: Queryable,
  collectionId: string,
  chunkIds: readonly string[],
): Promise<StoredChunk[]> {
  return selectStoredChunks(db, { table: 'chunks', column: 'collection_id', value: collectionId }, chunkIds);
}

/**
 * The given chunks of `chunks`, or of those a reindex keeps in `reindex_chunks`, where `column` is `value`, in
 * reading order, with everything their vector rows are built from (the document's fields as they are now).
 */
export async function selectStoredChunks(
  db: Queryable,
  from: { table: 'chunks' | 'reindex_chunks'; column: 'collection_id' | 'reindex_id'; value: string },
  chunkIds: readonly string[],
): Promise<StoredChunk[]> {
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    collection_id: string;
    document_id: string;
    text: string;
    title: string | null;
    heading_path: string[];
    token_ids: number[] | null;
    metadata: Record<string, unknown>;
    acl: string[] | null;
  }>(
    `SELECT c.id, d.tenant_id, d.collection_id, c.document_id, c.text, COALESCE(d.title, d.source_title) AS title,
            c.heading_path, c.token_ids, d.metadata, d.acl
       FROM ${from.table} c JOIN documents d ON d.id = c.document_id
      WHERE c.${from.column} = $1 AND c.id = ANY($2::uuid[])
      ORDER BY c.document_id, c.ordinal`,
    [from.value, [...chunkIds]],
  );
  return rows.map((row) => ({
    chunkId: row.id,
    tenantId: row.tenant_id,
    collectionId: row.collection_id,
    documentId: row.document_id,
    text: row.text,
    title: row.title,
    headingPath: row.heading_path,
    tokenIds: row.token_ids,
    metadata: row.metadata,
    acl: row.acl,
  }));
}

export interface DocumentChunk {
  id: string;
  ordinal: number;
  text: string;
  page: number | null;
  headingPath: string[];
  startOffset: number;
  endOffset: number;
}

/** The columns a DocumentChunk is read from, for a query on `chunks`. */
export const documentChunkColumns = 'id, ordinal, text, page, heading_path, start_offset, end_offset';

export interface DocumentChunkRow {
  id: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading_path: string[];
  start_offset: number;
  end_offset: number;
}

export function toDocumentChunk(row: DocumentChunkRow): DocumentChunk {
  return {
    id: row.id,
    ordinal: row.ordinal,
    text: row.text,
    page: row.page,
    headingPath: row.heading_path,
    startOffset: row.start_offset,
    endOffset: row.end_offset,
  };
}

/** One page of a document version's chunks in reading order, from the chunk after `afterOrdinal`. */
export async function listDocumentChunks(
  db: Queryable,
  documentId: string,
  version: number,
  page: { afterOrdinal: number; limit: number },
): Promise<DocumentChunk[]> {
  const { rows } = await db.query<DocumentChunkRow>(
    `SELECT ${documentChunkColumns} FROM chunks
      WHERE document_id = $1 AND document_version = $2 AND ordinal > $3
      ORDER BY ordinal LIMIT $4`,
    [documentId, version, page.afterOrdinal, page.limit],
  );
  return rows.map(toDocumentChunk);
}
