import { AppError } from '@rag/contracts/app-error';
import type { EmbeddingClient } from '@rag/contracts/embedding-client';
import type {
  DeleteCollectionJob,
  DeleteDocumentJob,
  IngestDocumentJob,
  IngestJob,
} from '@rag/contracts/ingest-job';
import { replaceChunks } from '@rag/db/chunk-repository';
import { deleteCollection } from '@rag/db/collection-repository';
import {
  deleteDocumentRow,
  findDocument,
  listDocumentIds,
  transitionDocument,
} from '@rag/db/document-repository';
import { type Pool, withTransaction } from '@rag/db/pool';
import type { Logger } from '@rag/telemetry/logger';
import type { ChunkVectorRow, ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { chunkId } from './chunk-id.js';
import { chunkText } from './chunker.js';

export interface ProcessorDeps {
  pool: Pool;
  embeddings: EmbeddingClient;
  vectorStore: () => Promise<ChunkVectorStore>;
  logger: Logger;
  chunkMaxChars: number;
  embedBatchSize: number;
}

export type JobOutcome = 'ready' | 'deleted' | 'skipped';

/** Runs one validated job. Throws AppErrors; the worker decides between retry and failure. */
export function createIngestProcessor(deps: ProcessorDeps) {
  async function ingest(job: IngestDocumentJob): Promise<JobOutcome> {
    const document = await findDocument(deps.pool, job.tenantId, job.documentId);
    if (!document || document.version !== job.version || document.status === 'deleting') {
      deps.logger.info({ document_id: job.documentId }, 'document gone or superseded; skipping ingest');
      return 'skipped';
    }
    await transitionDocument(deps.pool, document.id, document.version, ['queued', 'processing', 'failed'], {
      status: 'processing',
      error: null,
    });

    const chunks = chunkText(job.text, { maxChars: deps.chunkMaxChars });
    if (chunks.length === 0) {
      throw new AppError('validation_failed', 'The document has no indexable text (no letters or digits)');
    }
    const store = await deps.vectorStore();
    const outputs = store.space.hasSparse ? (['dense', 'sparse'] as const) : (['dense'] as const);
    const scope = { tenantId: job.tenantId, collectionId: job.collectionId };

    const rows: ChunkVectorRow[] = [];
    for (let i = 0; i < chunks.length; i += deps.embedBatchSize) {
      const batch = chunks.slice(i, i + deps.embedBatchSize);
      const answer = await deps.embeddings.embed({
        texts: batch.map((c) => c.text),
        kind: 'passage',
        outputs: [...outputs],
      });
      batch.forEach((chunk, j) => {
        const embedding = answer.data[j];
        if (!embedding?.dense)
          throw new AppError('model_error', 'The embedding service returned no dense vector');
        rows.push({
          chunkId: chunkId(document.id, document.version, chunk.ordinal),
          ...scope,
          documentId: document.id,
          dense: embedding.dense,
          ...(embedding.sparse ? { sparse: embedding.sparse } : {}),
          acl: document.acl,
        });
      });
    }

    // Leftovers of an interrupted attempt go first; ids are deterministic, so nothing is duplicated.
    await store.deleteByDocument(scope, document.id);
    await store.insert(rows);
    await store.flush();

    const becameReady = await withTransaction(deps.pool, async (client) => {
      await replaceChunks(
        client,
        {
          id: document.id,
          tenantId: job.tenantId,
          collectionId: job.collectionId,
          version: document.version,
        },
        chunks.map((c) => ({
          id: chunkId(document.id, document.version, c.ordinal),
          ordinal: c.ordinal,
          text: c.text,
          startOffset: c.start,
          endOffset: c.end,
        })),
      );
      return transitionDocument(client, document.id, document.version, ['processing'], {
        status: 'ready',
        chunkCount: chunks.length,
      });
    });
    if (!becameReady) {
      // Deleted while we worked: take our vectors back out so nothing is left behind.
      await store.deleteByDocument(scope, document.id);
      await store.flush();
      return 'skipped';
    }
    return 'ready';
  }

  async function deleteDocument(job: DeleteDocumentJob): Promise<JobOutcome> {
    const store = await deps.vectorStore();
    await store.deleteByDocument({ tenantId: job.tenantId, collectionId: job.collectionId }, job.documentId);
    await store.flush();
    await deleteDocumentRow(deps.pool, job.documentId);
    return 'deleted';
  }

  async function deleteWholeCollection(job: DeleteCollectionJob): Promise<JobOutcome> {
    const store = await deps.vectorStore();
    const scope = { tenantId: job.tenantId, collectionId: job.collectionId };
    for (const documentId of await listDocumentIds(deps.pool, job.collectionId)) {
      await store.deleteByDocument(scope, documentId);
    }
    await store.flush();
    await deleteCollection(deps.pool, job.collectionId);
    return 'deleted';
  }

  return {
    run(job: IngestJob): Promise<JobOutcome> {
      switch (job.type) {
        case 'ingest':
          return ingest(job);
        case 'delete':
          return deleteDocument(job);
        case 'delete-collection':
          return deleteWholeCollection(job);
      }
    },
    /** Records the final failure of an ingest on the document, for callers polling its status. */
    async markFailed(job: IngestJob, message: string): Promise<void> {
      if (job.type !== 'ingest') return;
      await transitionDocument(deps.pool, job.documentId, job.version, ['queued', 'processing'], {
        status: 'failed',
        error: message,
      });
    },
  };
}

export type IngestProcessor = ReturnType<typeof createIngestProcessor>;
