import type { Queryable } from './pool.js';

export interface Collection {
  id: string;
  tenantId: string;
  name: string;
  createdAt: Date;
  deleting: boolean;
}

interface CollectionRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Date;
  deleting: boolean;
}

const columns = 'id, tenant_id, name, created_at, deleting';

function toCollection(row: CollectionRow): Collection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    createdAt: row.created_at,
    deleting: row.deleting,
  };
}

/** Creates the collection, or returns undefined when the tenant already has one of that name. */
export async function insertCollection(
  db: Queryable,
  tenantId: string,
  name: string,
): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `INSERT INTO collections (tenant_id, name) VALUES ($1, $2)
     ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${columns}`,
    [tenantId, name],
  );
  return rows[0] && toCollection(rows[0]);
}

export async function findCollectionByName(
  db: Queryable,
  tenantId: string,
  name: string,
): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `SELECT ${columns} FROM collections WHERE tenant_id = $1 AND name = $2`,
    [tenantId, name],
  );
  return rows[0] && toCollection(rows[0]);
}

export async function findCollectionById(
  db: Queryable,
  tenantId: string,
  id: string,
): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `SELECT ${columns} FROM collections WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0] && toCollection(rows[0]);
}

export async function listCollections(db: Queryable, tenantId: string): Promise<Collection[]> {
  const { rows } = await db.query<CollectionRow>(
    `SELECT ${columns} FROM collections WHERE tenant_id = $1 AND NOT deleting ORDER BY name`,
    [tenantId],
  );
  return rows.map(toCollection);
}

export async function markCollectionDeleting(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE collections SET deleting = true WHERE id = $1', [id]);
}

export async function deleteCollection(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM collections WHERE id = $1', [id]);
}

/** Every live collection of every tenant, for maintenance (the doctor). */
export async function listAllCollections(db: Queryable): Promise<Collection[]> {
  const { rows } = await db.query<CollectionRow>(
    `SELECT ${columns} FROM collections WHERE NOT deleting ORDER BY tenant_id, name`,
  );
  return rows.map(toCollection);
}
