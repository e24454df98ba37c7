import { findStoredChunks, listCollectionChunkIds } from '@rag/db/chunk-repository';
import type { Collection } from '@rag/db/collection-repository';
import { bumpIndexVersion } from '@rag/db/index-version';
import type { Pool } from '@rag/db/pool';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { storedChunkContexts } from './chunk-budget.js';
import type { CollectionLock } from './collection-lock.js';
import { buildVectorRows } from './vector-row.js';

/** Chunks read, re-embedded and inserted per step of a repair, so a large repair holds only this many. */
const repairBatchSize = 512;

export interface CollectionCheck {
  tenantId: string;
  collection: string;
  /** Chunks PostgreSQL holds for the versions searchers see (documents not being deleted). */
  chunks: number;
  /** Entities of the collection in the vector store. */
  vectors: number;
  /** Vectors without a chunk in PostgreSQL (old versions, deleted documents, interrupted writes). */
  orphans: string[];
  /** Chunks without their vector (lost writes): invisible to search until repaired. */
  missing: string[];
  /** Vector ids present more than once. */
  duplicates: string[];
  repaired: boolean;
}

export interface DoctorDeps {
  pool: Pool;
  store: ChunkVectorStore;
  embeddings: EmbeddingClient;
  lock: CollectionLock;
  embedBatchSize: number;
}

/**
 * Compares PostgreSQL (the source of truth) with the vector store for one collection and, with `repair`,
 * makes the vector store match: orphans are deleted, and missing vectors are embedded again from the chunk
 * text PostgreSQL keeps, under their own ids. It holds the collection's writer lock, so it never mistakes
 * a write in progress for an orphan.
 */
export async function checkCollection(
  deps: DoctorDeps,
  collection: Collection,
  options: { repair: boolean },
): Promise<CollectionCheck> {
  return deps.lock.withLock(collection.id, () => compareCollection(deps, collection, options));
}

/** checkCollection's comparison and repair, for a caller that holds the collection's writer lock. */
export async function compareCollection(
  deps: Omit<DoctorDeps, 'lock'>,
  collection: Collection,
  options: { repair: boolean },
): Promise<CollectionCheck> {
  const scope = { tenantId: collection.tenantId, collectionId: collection.id };
  const chunkIds = await listCollectionChunkIds(deps.pool, collection.id);
  const vectorIds: string[] = [];
  for await (const batch of deps.store.listChunks(scope)) vectorIds.push(...batch.map((row) => row.chunkId));
  const inVectors = new Set(vectorIds);
  const inPostgres = new Set(chunkIds);
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of vectorIds) (seen.has(id) ? duplicates : seen).add(id);
  const check: CollectionCheck = {
    tenantId: collection.tenantId,
    collection: collection.name,
    chunks: chunkIds.length,
    vectors: vectorIds.length,
    orphans: [...inVectors].filter((id) => !inPostgres.has(id)),
    missing: chunkIds.filter((id) => !inVectors.has(id)),
    duplicates: [...duplicates],
    repaired: false,
  };
  if (!options.repair || check.orphans.length + check.missing.length + duplicates.size === 0) return check;

  // Duplicates go entirely and come back once, with the missing ones.
  await deps.store.deleteByIds(scope, [...check.orphans, ...duplicates]);
  // Only the chunks to rebuild are read in full (text, token ids), a batch at a time.
  const rebuild = [...check.missing, ...duplicates];
  const averageLength = averageChunkLength(await readCollectionIndexStats(deps.pool, collection.id));
  for (let i = 0; i < rebuild.length; i += repairBatchSize) {
    const chunks = await findStoredChunks(deps.pool, collection.id, rebuild.slice(i, i + repairBatchSize));
    const contexts = await storedChunkContexts(deps.embeddings, chunks);
    const sources = chunks.map((chunk, index) => ({ ...chunk, context: contexts[index] ?? '' }));
    await deps.store.insert(await buildVectorRows(deps, deps.store, sources, averageLength));
  }
  await deps.store.flush();
  // Answers cached while vectors were missing (a restore or a Milvus restart) would keep serving the
  // holes until they expire: PostgreSQL saw no write, so the index version must move here.
  await bumpIndexVersion(deps.pool, collection.id);
  check.repaired = true;
  return check;
}

/** One line per collection and a summary, for people and for cron mail. */
export function formatReport(checks: CollectionCheck[]): string {
  const lines = ['tenant\tcollection\tchunks\tvectors\torphans\tmissing\tduplicates\trepaired'];
  for (const c of checks) {
    lines.push(
      [
        c.tenantId,
        c.collection,
        c.chunks,
        c.vectors,
        c.orphans.length,
        c.missing.length,
        c.duplicates.length,
        c.repaired,
      ].join('\t'),
    );
  }
  const problems = checks.reduce((n, c) => n + c.orphans.length + c.missing.length + c.duplicates.length, 0);
  lines.push(
    `collections=${checks.length} problems=${problems} repaired=${checks.filter((c) => c.repaired).length}`,
  );
  return lines.join('\n');
}
