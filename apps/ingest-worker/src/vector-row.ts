import { AppError } from '@rag/contracts/app-error';
import { contextualText } from '@rag/documents/chunk-context';
import { bm25DocumentVector } from '@rag/lexical/bm25';
import { indexedTerms } from '@rag/lexical/chunk-terms';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorRow, ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';

/** A chunk to build a vector row for: its own text and the context line it is embedded and indexed with. */
export interface VectorSource {
  chunkId: string;
  tenantId: string;
  collectionId: string;
  documentId: string;
  text: string;
  context: string;
  metadata: Record<string, unknown>;
  acl: string[] | null;
  /**
   * The analyzer's terms of the context line and the text (`ChunkTerms.indexed`), where the caller has them
   * already: ingestion analyses each chunk once for its statistics and its BM25 vector alike.
   */
  indexedTerms?: number[];
}

/** The document-level fields every chunk's row carries: whose it is, and the metadata and ACL filters read. */
export interface VectorSourceDocument {
  id: string;
  tenantId: string;
  collectionId: string;
  metadata: Record<string, unknown>;
  acl: string[] | null;
}

/** A chunk of `document` as the source of its vector row. */
export function vectorSource(
  document: VectorSourceDocument,
  chunk: { chunkId: string; text: string; context: string; indexedTerms?: number[] },
): VectorSource {
  return {
    chunkId: chunk.chunkId,
    tenantId: document.tenantId,
    collectionId: document.collectionId,
    documentId: document.id,
    text: chunk.text,
    context: chunk.context,
    metadata: document.metadata,
    acl: document.acl,
    ...(chunk.indexedTerms ? { indexedTerms: chunk.indexedTerms } : {}),
  };
}

/**
 * Embeds chunks (new ones from ingestion, stored ones for the doctor's repair) in batches into vector rows: dense,
 * sparse when the model has that head, and the BM25 vector of the analyzer's terms normalised by `averageLength`
 * (the collection's average chunk length in terms), all of the context line followed by the chunk's text.
 * Ingestion and the doctor's repair both build rows here, so a repaired row is the row ingestion would have written.
 */
export async function buildVectorRows(
  deps: { embeddings: EmbeddingClient; embedBatchSize: number },
  store: ChunkVectorStore,
  sources: VectorSource[],
  averageLength: number,
): Promise<ChunkVectorRow[]> {
  const outputs = store.space.hasSparse ? (['dense', 'sparse'] as const) : (['dense'] as const);
  const rows: ChunkVectorRow[] = [];
  for (let i = 0; i < sources.length; i += deps.embedBatchSize) {
    const batch = sources.slice(i, i + deps.embedBatchSize);
    const answer = await deps.embeddings.embed({
      texts: batch.map((source) => contextualText(source.context, source.text)),
      kind: 'passage',
      outputs: [...outputs],
    });
    batch.forEach((source, j) => {
      const embedding = answer.data[j];
      if (!embedding?.dense)
        throw new AppError('model_error', 'The embedding service returned no dense vector');
      rows.push({
        chunkId: source.chunkId,
        tenantId: source.tenantId,
        collectionId: source.collectionId,
        documentId: source.documentId,
        dense: embedding.dense,
        ...(embedding.sparse ? { sparse: embedding.sparse } : {}),
        bm25: bm25DocumentVector(
          source.indexedTerms ?? indexedTerms(source.context, source.text),
          averageLength,
        ),
        // Only stored where Milvus computes BM25 itself (MILVUS_BM25=milvus-function).
        ...(store.bm25Source === 'milvus-function'
          ? { text: contextualText(source.context, source.text) }
          : {}),
        metadata: source.metadata,
        acl: source.acl,
      });
    });
  }
  return rows;
}
