import type { Queryable } from './pool.js';

/**
 * Moves a collection to a new index version, so no search answer cached before is served again. Writes in
 * PostgreSQL bump it through triggers; this is for writes PostgreSQL does not see, such as a vector
 * store update of fields that PostgreSQL had already changed (answers cached in between read the old rows).
 */
export async function bumpIndexVersion(db: Queryable, collectionId: string): Promise<void> {
  await db.query(
    `INSERT INTO collection_index_stats AS s (collection_id, index_version)
     SELECT id, 1 FROM collections WHERE id = $1
     ON CONFLICT (collection_id) DO UPDATE SET index_version = s.index_version + 1`,
    [collectionId],
  );
}
