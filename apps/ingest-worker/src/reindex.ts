import { listDocumentChunks, replaceChunks } from '@rag/db/chunk-repository';
import type { Collection } from '@rag/db/collection-repository';
import {
  type DocumentRecord,
  findDocument,
  listCollectionDocuments,
  lockDocument,
} from '@rag/db/document-repository';
import { type Pool, withTransaction } from '@rag/db/pool';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import { documentChunkTerms } from '@rag/lexical/chunk-terms';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { storedChunkContexts } from './chunk-budget.js';
import type { CollectionLock } from './collection-lock.js';
import { buildVectorRows, vectorSource } from './vector-row.js';

export interface ReindexDeps {
  pool: Pool;
  store: ChunkVectorStore;
  embeddings: EmbeddingClient;
  embedBatchSize: number;
}

/** Chunks of one document read per page. */
const chunkPage = 1000;

/**
 * Indexes the chunks of a document's visible version again, from the text PostgreSQL keeps: each chunk's
 * context line from the title the document shows now, its vectors, and its BM25 terms by the analyzer of this
 * build. The chunks keep their ids, text and offsets: vectors are replaced in place (searchers see the old row
 * or the new one), then the chunk rows, and with them the BM25 statistics, in one transaction. Run it with the
 * collection's writer lock held. Answers whether the document was reindexed (not when it went or changed
 * version meanwhile: its newer version is being indexed by its own job).
 */
export async function reindexDocument(deps: ReindexDeps, document: DocumentRecord): Promise<boolean> {
  const version = document.readyVersion;
  if (version === null || document.status === 'deleting') return false;
  const chunks = [];
  for (let after = -1; ; ) {
    const page = await listDocumentChunks(deps.pool, document.id, version, {
      afterOrdinal: after,
      limit: chunkPage,
    });
    chunks.push(...page);
    if (page.length < chunkPage) break;
    after = (page.at(-1) as { ordinal: number }).ordinal;
  }
  if (chunks.length === 0) return false;
  const title = document.title ?? document.sourceTitle;
  const contexts = await storedChunkContexts(
    deps.embeddings,
    chunks.map((chunk) => ({ title, headingPath: chunk.headingPath, text: chunk.text })),
  );
  const withContext = chunks.map((chunk, index) => ({ ...chunk, context: contexts[index] ?? '' }));
  const terms = documentChunkTerms(withContext);
  const stats = await readCollectionIndexStats(deps.pool, document.collectionId);
  const rows = await buildVectorRows(
    deps,
    deps.store,
    withContext.map((chunk) =>
      vectorSource(document, { chunkId: chunk.id, text: chunk.text, context: chunk.context }),
    ),
    averageChunkLength(stats),
  );
  await deps.store.replace(rows);
  await deps.store.flush();
  return withTransaction(deps.pool, async (client) => {
    const current = await lockDocument(client, document.id);
    if (!current || current.status === 'deleting' || current.readyVersion !== version) return false;
    await replaceChunks(
      client,
      { id: document.id, tenantId: document.tenantId, collectionId: document.collectionId, version },
      withContext.map((chunk, index) => ({
        id: chunk.id,
        ordinal: chunk.ordinal,
        text: chunk.text,
        startOffset: chunk.startOffset,
        endOffset: chunk.endOffset,
        page: chunk.page,
        headingPath: chunk.headingPath,
        tokenIds: terms[index]?.counted ?? [],
      })),
    );
    return true;
  });
}

/**
 * Indexes every document of a collection again (`pnpm doctor --reindex`): what a collection indexed by an
 * earlier build (another analyzer, no context lines) needs. Searches keep working throughout; each document
 * moves on its own, under the collection's writer lock, so ingestion waits rather than interleaves.
 */
export async function reindexCollection(
  deps: ReindexDeps & { lock: CollectionLock },
  collection: Collection,
): Promise<{ documents: number; chunks: number }> {
  const documents = await listCollectionDocuments(deps.pool, collection.id);
  let reindexed = 0;
  let chunks = 0;
  for (const { id } of documents) {
    // Read under the lock: the title, fields and version as they are when this document's turn comes.
    const done = await deps.lock.withLock(collection.id, async () => {
      const document = await findDocument(deps.pool, collection.tenantId, id);
      return document && (await reindexDocument(deps, document)) ? document.chunkCount : 0;
    });
    if (done > 0) {
      reindexed++;
      chunks += done;
    }
  }
  return { documents: reindexed, chunks };
}
