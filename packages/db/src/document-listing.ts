import type { DocumentStatus } from '@rag/contracts/public-api';
import {
  type DocumentRecord,
  type DocumentRow,
  documentColumns,
  documentFromRow,
} from './document-repository.js';
import type { Queryable } from './pool.js';

/**
 * A collection's documents as a caller may see them (ACL applied in SQL, like search), newest first, paged by
 * a keyset on (created_at, id): a page costs the same however deep it is, and documents added meanwhile
 * never shift later pages.
 */

export interface DocumentPageQuery {
  collectionId: string;
  /** The caller's ACL principals; null for an unrestricted caller. */
  principals: readonly string[] | null;
  statuses?: readonly DocumentStatus[] | undefined;
  externalIdPrefix?: string | undefined;
  /** The position of the last document of the previous page. */
  after?: DocumentPosition | undefined;
  limit: number;
}

/** Where a document sits in the order: its creation time in microseconds (exact, unlike a Date) and id. */
export interface DocumentPosition {
  createdMicros: string;
  id: string;
}

const visibleTo = '($2::text[] IS NULL OR acl IS NULL OR acl && $2::text[])';

export async function listDocumentPage(
  db: Queryable,
  query: DocumentPageQuery,
): Promise<{ document: DocumentRecord; position: DocumentPosition }[]> {
  const params: unknown[] = [query.collectionId, query.principals];
  const where = ['collection_id = $1', visibleTo];
  if (query.statuses && query.statuses.length > 0) {
    params.push(query.statuses);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  if (query.externalIdPrefix !== undefined) {
    params.push(`${escapeLike(query.externalIdPrefix)}%`);
    where.push(`external_id LIKE $${params.length}`);
  }
  if (query.after) {
    params.push(query.after.createdMicros, query.after.id);
    where.push(
      `(created_at, id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::uuid)`,
    );
  }
  params.push(query.limit);
  const { rows } = await db.query<DocumentRow & { created_micros: string }>(
    `SELECT ${documentColumns},
            (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_micros
       FROM documents WHERE ${where.join(' AND ')}
      ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => ({
    document: documentFromRow(row),
    position: { createdMicros: row.created_micros, id: row.id },
  }));
}

export interface CollectionSummary {
  documentsByStatus: Record<DocumentStatus, number>;
  /** Chunks of the versions searches see. */
  chunks: number;
  /** When a visible document last changed; null for an empty collection. */
  lastChangedAt: Date | null;
}

export async function summariseCollection(
  db: Queryable,
  collectionId: string,
  principals: readonly string[] | null,
): Promise<CollectionSummary> {
  const { rows } = await db.query<{ status: DocumentStatus; documents: number; chunks: string; last: Date }>(
    `SELECT status, count(*)::int AS documents,
            coalesce(sum(chunk_count) FILTER (WHERE ready_version IS NOT NULL), 0) AS chunks,
            max(updated_at) AS last
       FROM documents WHERE collection_id = $1 AND ${visibleTo} GROUP BY status`,
    [collectionId, principals],
  );
  const documentsByStatus: Record<DocumentStatus, number> = {
    queued: 0,
    processing: 0,
    ready: 0,
    failed: 0,
    deleting: 0,
  };
  let chunks = 0;
  let lastChangedAt: Date | null = null;
  for (const row of rows) {
    documentsByStatus[row.status] = row.documents;
    chunks += Number(row.chunks);
    if (!lastChangedAt || row.last > lastChangedAt) lastChangedAt = row.last;
  }
  return { documentsByStatus, chunks, lastChangedAt };
}

/** A LIKE pattern matching the text literally (backslash is PostgreSQL's default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
