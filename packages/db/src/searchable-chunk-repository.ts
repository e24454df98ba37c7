import type { SearchFilter } from '@rag/contracts/search-filter';
import type { ChunkWithDocument } from './chunk-repository.js';
import { compileSqlFilter } from './metadata-filter-sql.js';
import type { Queryable } from './pool.js';

export interface SearchScope {
  tenantId: string;
  collectionId: string;
  /** The caller's ACL principals; null for an unrestricted caller. */
  principals: string[] | null;
  filter?: SearchFilter | undefined;
}

/**
 * Chunk text and document fields for search hits, under the same conditions as the vector query: the
 * caller's tenant and collection, searchable documents only, the ACL rule and the metadata filter. The vector
 * query has already applied them; repeating them in PostgreSQL, the source of truth, gives it the last word.
 * Only chunks of the version each document shows searchers (`ready_version`, flipped in the transaction that
 * swaps the chunks) come back, so a search sees exactly one version of a document, and a document being
 * deleted or re-versioned disappears from results at once.
 *
 * The query walks the given ids and nothing else, whatever PostgreSQL's statistics say: each id is one
 * primary-key lookup in chunks, then one in documents. A LATERAL subquery with LIMIT is never flattened
 * into the join, so the planner cannot start from the collection's documents instead (with statistics
 * never gathered it did, walking every document of the collection for a page of ten). The scope's
 * conditions are checked on the rows found, outside the subqueries, where no other index can serve them.
 */
export async function findVisibleChunks(
  db: Queryable,
  scope: SearchScope,
  chunkIds: readonly string[],
): Promise<Map<string, ChunkWithDocument>> {
  if (chunkIds.length === 0) return new Map();
  const filter = scope.filter ? compileSqlFilter(scope.filter, 'd.metadata', 5) : undefined;
  const text = `SELECT c.id, c.document_id, d.external_id, COALESCE(d.title, d.source_title) AS title, c.text, d.metadata,
            c.start_offset, c.end_offset, c.page, c.heading_path
       FROM unnest($1::uuid[]) AS wanted(id)
       CROSS JOIN LATERAL (
         SELECT id, document_id, document_version, text, start_offset, end_offset, page, heading_path
           FROM chunks WHERE chunks.id = wanted.id LIMIT 1) c
       CROSS JOIN LATERAL (
         SELECT tenant_id, collection_id, ready_version, status, acl, external_id, title, source_title, metadata
           FROM documents WHERE documents.id = c.document_id LIMIT 1) d
      WHERE d.ready_version = c.document_version AND d.tenant_id = $2 AND d.collection_id = $3
        AND d.status <> 'deleting' AND ($4::text[] IS NULL OR d.acl IS NULL OR d.acl && $4::text[])
        ${filter ? `AND ${filter.sql}` : ''}`;
  const values = [
    [...new Set(chunkIds)],
    scope.tenantId,
    scope.collectionId,
    scope.principals,
    ...(filter?.params ?? []),
  ];
  const { rows } = await db.query<{
    id: string;
    document_id: string;
    external_id: string | null;
    title: string | null;
    text: string;
    metadata: Record<string, unknown>;
    start_offset: number;
    end_offset: number;
    page: number | null;
    heading_path: string[];
  }>(
    // Every search runs it: without a metadata filter it is a prepared statement of each connection, parsed
    // and planned once (PostgreSQL may then keep a generic plan, which the plan test checks too). With one,
    // its text varies with the filter, and statements are never prepared for texts the caller shapes.
    filter ? { text, values } : { name: 'search-visible-chunks', text, values },
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        chunkId: r.id,
        documentId: r.document_id,
        externalId: r.external_id,
        title: r.title,
        text: r.text,
        metadata: r.metadata,
        startOffset: r.start_offset,
        endOffset: r.end_offset,
        page: r.page,
        headingPath: r.heading_path,
      },
    ]),
  );
}
