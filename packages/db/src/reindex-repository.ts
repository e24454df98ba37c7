import type { CollectionModel } from './collection-repository.js';
import type { Queryable } from './pool.js';

export type ReindexState = 'running' | 'switched' | 'cancelled' | 'failed';

/** One move of a collection to another embedding model (migration 8). */
export interface CollectionReindex {
  id: string;
  collectionId: string;
  tenantId: string;
  /** The model the collection was on; undefined: the stack's default model at the time. */
  from?: CollectionModel;
  to: CollectionModel;
  state: ReindexState;
  documentsTotal: number;
  documentsDone: number;
  chunksDone: number;
  /** The last document embedded into the new model's space (documents are taken in id order). */
  afterDocument: string | null;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** After the switch: when the old model's vectors of the collection may be dropped. */
  dropOldAfter: Date | null;
  oldDroppedAt: Date | null;
}

interface ReindexRow {
  id: string;
  collection_id: string;
  tenant_id: string;
  from_model: string | null;
  from_manifest_hash: string | null;
  to_model: string;
  to_manifest_hash: string;
  state: ReindexState;
  documents_total: number;
  documents_done: number;
  chunks_done: number;
  after_document: string | null;
  error: string | null;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  drop_old_after: Date | null;
  old_dropped_at: Date | null;
}

const columns = `id, collection_id, tenant_id, from_model, from_manifest_hash, to_model, to_manifest_hash, state,
  documents_total, documents_done, chunks_done, after_document, error, started_at, updated_at, finished_at,
  drop_old_after, old_dropped_at`;

function toReindex(row: ReindexRow): CollectionReindex {
  return {
    id: row.id,
    collectionId: row.collection_id,
    tenantId: row.tenant_id,
    ...(row.from_model === null || row.from_manifest_hash === null
      ? {}
      : { from: { name: row.from_model, manifestHash: row.from_manifest_hash } }),
    to: { name: row.to_model, manifestHash: row.to_manifest_hash },
    state: row.state,
    documentsTotal: row.documents_total,
    documentsDone: row.documents_done,
    chunksDone: row.chunks_done,
    afterDocument: row.after_document,
    error: row.error,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    dropOldAfter: row.drop_old_after,
    oldDroppedAt: row.old_dropped_at,
  };
}

/**
 * Starts a reindex of the collection, counting the documents to move; undefined when one is already running
 * (the unique index allows one running row per collection).
 */
export async function insertReindex(
  db: Queryable,
  input: { collectionId: string; tenantId: string; from?: CollectionModel; to: CollectionModel },
): Promise<CollectionReindex | undefined> {
  const { rows } = await db.query<ReindexRow>(
    `INSERT INTO collection_reindexes
       (collection_id, tenant_id, from_model, from_manifest_hash, to_model, to_manifest_hash, state, documents_total)
     SELECT $1, $2, $3, $4, $5, $6, 'running',
            (SELECT count(*) FROM documents WHERE collection_id = $1 AND ready_version IS NOT NULL AND status <> 'deleting')
     ON CONFLICT (collection_id) WHERE state = 'running' DO NOTHING
     RETURNING ${columns}`,
    [
      input.collectionId,
      input.tenantId,
      input.from?.name ?? null,
      input.from?.manifestHash ?? null,
      input.to.name,
      input.to.manifestHash,
    ],
  );
  return rows[0] && toReindex(rows[0]);
}

export async function findReindex(db: Queryable, id: string): Promise<CollectionReindex | undefined> {
  const { rows } = await db.query<ReindexRow>(`SELECT ${columns} FROM collection_reindexes WHERE id = $1`, [
    id,
  ]);
  return rows[0] && toReindex(rows[0]);
}

/** The collection's latest reindex, whatever its state. */
export async function findLatestReindex(
  db: Queryable,
  collectionId: string,
): Promise<CollectionReindex | undefined> {
  const { rows } = await db.query<ReindexRow>(
    `SELECT ${columns} FROM collection_reindexes WHERE collection_id = $1 ORDER BY started_at DESC LIMIT 1`,
    [collectionId],
  );
  return rows[0] && toReindex(rows[0]);
}

/** The latest reindex of each of the tenant's collections that has one (one query for a whole list). */
export async function findLatestReindexes(
  db: Queryable,
  tenantId: string,
): Promise<Map<string, CollectionReindex>> {
  const { rows } = await db.query<ReindexRow>(
    `SELECT DISTINCT ON (collection_id) ${columns} FROM collection_reindexes
      WHERE tenant_id = $1 ORDER BY collection_id, started_at DESC`,
    [tenantId],
  );
  return new Map(rows.map((row) => [row.collection_id, toReindex(row)]));
}

/** The collection's running reindex, if any. */
export async function findRunningReindex(
  db: Queryable,
  collectionId: string,
): Promise<CollectionReindex | undefined> {
  const { rows } = await db.query<ReindexRow>(
    `SELECT ${columns} FROM collection_reindexes WHERE collection_id = $1 AND state = 'running'`,
    [collectionId],
  );
  return rows[0] && toReindex(rows[0]);
}

/** Running reindexes of every collection (a worker that starts takes back the ones whose jobs were lost). */
export async function listRunningReindexes(db: Queryable): Promise<CollectionReindex[]> {
  const { rows } = await db.query<ReindexRow>(
    `SELECT ${columns} FROM collection_reindexes WHERE state = 'running' ORDER BY started_at`,
  );
  return rows.map(toReindex);
}

/** Switched reindexes whose old vectors are still kept. */
export async function listPendingOldDrops(db: Queryable): Promise<CollectionReindex[]> {
  const { rows } = await db.query<ReindexRow>(
    `SELECT ${columns} FROM collection_reindexes WHERE state = 'switched' AND old_dropped_at IS NULL ORDER BY started_at`,
  );
  return rows.map(toReindex);
}

/** Records a batch of documents done; false when the reindex no longer runs (cancelled meanwhile). */
export async function recordReindexProgress(
  db: Queryable,
  id: string,
  progress: { afterDocument: string; documents: number; chunks: number },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE collection_reindexes
        SET after_document = $2, documents_done = documents_done + $3, chunks_done = chunks_done + $4,
            documents_total = GREATEST(documents_total, documents_done + $3), updated_at = now()
      WHERE id = $1 AND state = 'running'`,
    [id, progress.afterDocument, progress.documents, progress.chunks],
  );
  return rowCount === 1;
}

/** Ends a running reindex as cancelled or failed; false when it was no longer running. */
export async function endReindex(
  db: Queryable,
  id: string,
  state: 'cancelled' | 'failed',
  error?: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE collection_reindexes SET state = $2, error = $3, finished_at = now(), updated_at = now()
      WHERE id = $1 AND state = 'running'`,
    [id, state, error ?? null],
  );
  return rowCount === 1;
}

/**
 * The switch, in the caller's transaction: the collection takes the new model and a new index version (so
 * cached answers and cursors of the old model are not served again), and the reindex is marked switched with
 * the time its old vectors may go. False when the reindex no longer runs or the collection moved meanwhile.
 */
export async function switchCollectionModel(
  db: Queryable,
  reindex: CollectionReindex,
  keepOldSeconds: number,
): Promise<boolean> {
  const marked = await db.query(
    `UPDATE collection_reindexes
        SET state = 'switched', finished_at = now(), updated_at = now(),
            drop_old_after = now() + make_interval(secs => $2)
      WHERE id = $1 AND state = 'running'`,
    [reindex.id, keepOldSeconds],
  );
  if (marked.rowCount !== 1) return false;
  const moved = await db.query(
    `UPDATE collections SET embedding_model = $2, embedding_manifest_hash = $3
      WHERE id = $1 AND NOT deleting
        AND (embedding_model IS NULL OR (embedding_model = $4 AND embedding_manifest_hash = $5))`,
    [
      reindex.collectionId,
      reindex.to.name,
      reindex.to.manifestHash,
      reindex.from?.name ?? null,
      reindex.from?.manifestHash ?? null,
    ],
  );
  if (moved.rowCount !== 1) throw new Error('the collection was deleted or moved while it was reindexed');
  await db.query(
    `INSERT INTO collection_index_stats AS s (collection_id, index_version) VALUES ($1, 1)
     ON CONFLICT (collection_id) DO UPDATE SET index_version = s.index_version + 1`,
    [reindex.collectionId],
  );
  return true;
}

export async function markOldDropped(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE collection_reindexes SET old_dropped_at = now(), updated_at = now() WHERE id = $1', [
    id,
  ]);
}

/**
 * The next documents to move, in id order after `afterDocument`: the ready ones (their visible version's chunks
 * are what the new model embeds), with the ids of those chunks and a stamp of the document's last change.
 */
export async function listReindexBatch(
  db: Queryable,
  collectionId: string,
  afterDocument: string | null,
  limit: number,
): Promise<Array<{ documentId: string; chunkIds: string[]; stamp: string }>> {
  const { rows } = await db.query<{ id: string; chunk_ids: string[] | null; stamp: string }>(
    `SELECT d.id, ${stampColumn} AS stamp,
            (SELECT array_agg(c.id ORDER BY c.ordinal) FROM chunks c WHERE c.document_id = d.id) AS chunk_ids
       FROM documents d
      WHERE d.collection_id = $1 AND d.ready_version IS NOT NULL AND d.status <> 'deleting'
        AND ($2::uuid IS NULL OR d.id > $2::uuid)
      ORDER BY d.id
      LIMIT $3`,
    [collectionId, afterDocument, limit],
  );
  return rows.map((row) => ({ documentId: row.id, chunkIds: row.chunk_ids ?? [], stamp: row.stamp }));
}

/**
 * A document's change stamp, the SQL for the documents row under `alias`: every change (new version, fields,
 * delete) sets updated_at; microseconds, as text.
 */
export const documentStamp = (alias: string) =>
  `(extract(epoch FROM ${alias}.updated_at) * 1000000)::bigint::text`;
const stampColumn = documentStamp('d');

/** The change stamps of the given documents that still exist and are not being deleted. */
export async function readDocumentStamps(
  db: Queryable,
  documentIds: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; stamp: string }>(
    `SELECT d.id, ${stampColumn} AS stamp FROM documents d WHERE d.id = ANY($1::uuid[]) AND d.status <> 'deleting'`,
    [[...documentIds]],
  );
  return new Map(rows.map((row) => [row.id, row.stamp]));
}

/**
 * The collection's index version and model, read together: a search embeds with the model this names and the
 * answer carries this version, so an answer (and its cursor) never pairs one model with the other's version.
 */
export async function readCollectionSearchState(
  db: Queryable,
  collectionId: string,
): Promise<{ indexVersion: number; model?: CollectionModel }> {
  const { rows } = await db.query<{
    index_version: string | null;
    embedding_model: string | null;
    embedding_manifest_hash: string | null;
  }>({
    // Read by every search: a prepared statement of each connection, parsed and planned once.
    name: 'search-state',
    text: `SELECT s.index_version, c.embedding_model, c.embedding_manifest_hash
       FROM collections c LEFT JOIN collection_index_stats s ON s.collection_id = c.id
      WHERE c.id = $1`,
    values: [collectionId],
  });
  const row = rows[0];
  return {
    indexVersion: Number(row?.index_version ?? 0),
    ...(row?.embedding_model && row.embedding_manifest_hash
      ? { model: { name: row.embedding_model, manifestHash: row.embedding_manifest_hash } }
      : {}),
  };
}
