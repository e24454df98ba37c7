import {
  type DocumentRecord,
  type DocumentRow,
  documentColumns,
  documentFromRow,
} from './document-repository.js';
import type { Queryable } from './pool.js';

export interface Collection {
  id: string;
  tenantId: string;
  name: string;
  createdAt: Date;
  deleting: boolean;
  /** The embedding model it was created on; undefined: the stack's default model, whichever that is. */
  model?: CollectionModel;
}

export interface CollectionModel {
  name: string;
  /** sha256 of the model's manifest when the collection was created. */
  manifestHash: string;
}

interface CollectionRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Date;
  deleting: boolean;
  embedding_model: string | null;
  embedding_manifest_hash: string | null;
}

const columns = 'id, tenant_id, name, created_at, deleting, embedding_model, embedding_manifest_hash';

function toCollection(row: CollectionRow): Collection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    createdAt: row.created_at,
    deleting: row.deleting,
    ...(row.embedding_model === null || row.embedding_manifest_hash === null
      ? {}
      : { model: { name: row.embedding_model, manifestHash: row.embedding_manifest_hash } }),
  };
}

/**
 * A tenant's document and its collection, read in one statement (where a job starts building a version): an id
 * of another tenant reads as missing, as with findDocument.
 */
export async function findDocumentAndCollection(
  db: Queryable,
  tenantId: string,
  documentId: string,
): Promise<{ document: DocumentRecord; collection: Collection | undefined } | undefined> {
  const { rows } = await db.query<DocumentRow & Record<string, unknown>>(documentAndCollectionQuery, [
    tenantId,
    documentId,
  ]);
  const row = rows[0];
  if (!row) return undefined;
  const collection = Object.fromEntries(
    collectionFields.map((column) => [column, row[`collection_${column}`]]),
  ) as unknown as CollectionRow;
  return {
    document: documentFromRow(row),
    collection: collection.id === null ? undefined : toCollection(collection),
  };
}

const collectionFields = columns.split(', ');
const documentAndCollectionQuery = `SELECT ${documentColumns
  .split(', ')
  .map((column) => `d.${column}`)
  .join(', ')}, ${collectionFields.map((column) => `c.${column} AS collection_${column}`).join(', ')}
   FROM documents d LEFT JOIN collections c ON c.tenant_id = d.tenant_id AND c.id = d.collection_id
  WHERE d.tenant_id = $1 AND d.id = $2`;

/** Creates the collection, or returns undefined when the tenant already has one of that name. */
export async function insertCollection(
  db: Queryable,
  tenantId: string,
  name: string,
  model?: CollectionModel,
): Promise<Collection | undefined> {
  const { rows } = await db.query<CollectionRow>(
    `INSERT INTO collections (tenant_id, name, embedding_model, embedding_manifest_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${columns}`,
    [tenantId, name, model?.name ?? null, model?.manifestHash ?? null],
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
