// The end state of one fault's collection, checked against what the API accepted, in PostgreSQL, Milvus and
// search results:
//   lost        accepted (200/202) and not deleted, but not ready with the accepted version and not failed
//               with a reason: the row gone, an older version ready, or ready with chunks or vectors missing;
//   duplicated  more chunks or vectors than the document has (a chunk id twice, another version's chunks or
//               vectors left, rows of a deleted document), or an old version's text in search results;
//   stuck       a document still queued, processing or deleting, or a deleted collection still there (or its
//               name not free again);
//   failed      failed with a reason (not a loss: the caller is told; listed for information).
import { versionMarker } from './workload.mjs';

const finalStates = new Set(['ready', 'failed']);

/** Counts non-final documents of the collection and whether the deleted scratch collection is gone. */
export async function pendingWork(pool, collectionId, scratchId) {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM documents WHERE collection_id = $1 AND status NOT IN ('ready', 'failed')`,
    [collectionId],
  );
  const scratch = scratchId
    ? (await pool.query('SELECT 1 FROM collections WHERE id = $1', [scratchId])).rowCount
    : 0;
  return rows[0].n + scratch;
}

/**
 * @param {object} context
 * @param {import('pg').Pool} context.pool
 * @param {any} context.store        the Milvus store of the model's space
 * @param {ReturnType<import('./api-client.mjs').createApiClient>} context.api
 * @param {string} context.collection
 * @param {string} context.collectionId
 * @param {Map<string, any>} context.expected
 * @param {{id: string|null, name: string, recreated: number}} context.scratch
 */
export async function checkEndState(context) {
  const { pool, store, collectionId } = context;
  const problems = [];
  const tally = { lost: 0, duplicated: 0, stuck: 0, failed: 0, refused: 0, documents: context.expected.size };
  const note = (kind, text) => {
    tally[kind] += 1;
    if (problems.length < 12) problems.push(`${kind}: ${text}`);
  };

  const documents = new Map(
    (
      await pool.query(
        `SELECT id, external_id, status, error, version, ready_version, chunk_count
           FROM documents WHERE collection_id = $1`,
        [collectionId],
      )
    ).rows.map((row) => [row.id, row]),
  );
  const chunks = new Map();
  for (const row of (
    await pool.query('SELECT id, document_id, document_version FROM chunks WHERE collection_id = $1', [
      collectionId,
    ])
  ).rows) {
    if (!chunks.has(row.document_id)) chunks.set(row.document_id, []);
    chunks.get(row.document_id).push(row);
  }
  const vectors = new Map();
  for await (const batch of store.listChunks({ tenantId: 'default', collectionId })) {
    for (const row of batch) {
      if (!vectors.has(row.documentId)) vectors.set(row.documentId, []);
      vectors.get(row.documentId).push(row.chunkId);
    }
  }

  const checked = new Set();
  for (const entry of context.expected.values()) {
    if (entry.id === null) {
      // Never accepted: the client gave up (every attempt failed until the deadline).
      tally.refused += 1;
      if (problems.length < 12) problems.push(`refused: ${entry.externalId} ${entry.refused ?? ''}`);
      continue;
    }
    checked.add(entry.id);
    const row = documents.get(entry.id);
    const rowChunks = chunks.get(entry.id) ?? [];
    const rowVectors = vectors.get(entry.id) ?? [];
    if (entry.deleted) {
      if (row?.status === 'deleting') note('stuck', `${entry.externalId} still deleting`);
      else if (row) note('duplicated', `${entry.externalId} deleted but ${row.status}`);
      else if (rowChunks.length + rowVectors.length > 0) {
        note(
          'duplicated',
          `${entry.externalId} deleted, ${rowChunks.length} chunks and ${rowVectors.length} vectors left`,
        );
      }
      continue;
    }
    if (!row) {
      note('lost', `${entry.externalId} v${entry.version} accepted, row gone`);
      continue;
    }
    if (!finalStates.has(row.status)) {
      note('stuck', `${entry.externalId} ${row.status} (v${row.version})`);
      continue;
    }
    if (row.status === 'failed') {
      if (row.error) {
        tally.failed += 1;
        if (problems.length < 12) problems.push(`failed: ${entry.externalId} ${row.error.slice(0, 120)}`);
      } else note('lost', `${entry.externalId} failed without a reason`);
      continue;
    }
    if (row.ready_version < entry.version) {
      note('lost', `${entry.externalId} accepted v${entry.version}, ready v${row.ready_version}`);
      continue;
    }
    const current = rowChunks.filter((c) => c.document_version === row.ready_version).map((c) => c.id);
    const currentIds = new Set(current);
    const extraVectors = rowVectors.filter((id) => !currentIds.has(id)).length;
    const repeatedVectors = rowVectors.length - new Set(rowVectors).size;
    const missingVectors = current.filter((id) => !rowVectors.includes(id)).length;
    if (current.length < row.chunk_count || missingVectors > 0) {
      note(
        'lost',
        `${entry.externalId} ready with ${current.length}/${row.chunk_count} chunks, ${missingVectors} vectors missing`,
      );
    } else if (rowChunks.length > row.chunk_count || extraVectors + repeatedVectors > 0) {
      note(
        'duplicated',
        `${entry.externalId} ${rowChunks.length} chunks, ${rowVectors.length} vectors for ${row.chunk_count}`,
      );
    } else if (entry.version > 1 && (await oldVersionVisible(context.api, context.collection, entry))) {
      note('duplicated', `${entry.externalId} v1 text still in search results`);
    }
  }
  // Anything else of the collection (the recovery probes) must have settled too, and left nothing behind.
  for (const row of documents.values()) {
    if (!checked.has(row.id) && !finalStates.has(row.status))
      note('stuck', `${row.external_id} ${row.status}`);
  }
  for (const [documentId, ids] of vectors) {
    if (!documents.has(documentId) && !checked.has(documentId)) {
      note('duplicated', `${ids.length} vectors of unknown document ${documentId}`);
    }
  }

  const scratch = context.scratch;
  if (scratch.id) {
    const { rows } = await pool.query('SELECT deleting FROM collections WHERE id = $1', [scratch.id]);
    if (rows.length > 0)
      note('stuck', `collection ${scratch.name} still there (deleting=${rows[0].deleting})`);
    else if (scratch.recreated !== 201)
      note('stuck', `collection name ${scratch.name} not free again (${scratch.recreated})`);
    else {
      let left = 0;
      for await (const batch of store.listChunks({ tenantId: 'default', collectionId: scratch.id }))
        left += batch.length;
      if (left > 0) note('duplicated', `${left} vectors of deleted collection ${scratch.name}`);
    }
  }
  return { ...tally, problems };
}

/** Searches with version 1's own words and looks for its marker among the document's results. */
async function oldVersionVisible(api, collection, entry) {
  const marker = versionMarker(entry.i, 1);
  const answer = await api.request('POST', '/v1/search', {
    json: { collection, query: `${marker} part 0`, top_k: 20, mode: 'bm25' },
  });
  if (answer.status !== 200) return false;
  return answer.body.results.some((r) => r.document_id === entry.id && r.text.includes(`${marker} part`));
}
