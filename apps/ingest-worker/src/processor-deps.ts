import type { Pool } from '@rag/db/pool';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ObjectStorage } from '@rag/storage/object-storage';
import type { Logger } from '@rag/telemetry/logger';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import type { CollectionLock } from './collection-lock.js';
import type { CollectionWriter } from './collection-writer.js';
import type { CompletionEvents } from './completion-events.js';
import type { DocumentPipeline } from './document-pipeline.js';
import type { ModelKits } from './model-kits.js';

/** What every job handler of the ingest processor works with. */
export interface ProcessorDeps {
  pool: Pool;
  /** The default model's client, vector store and chunker (when `kits` is not given, the only model). */
  embeddings: EmbeddingClient;
  vectorStore: () => Promise<ChunkVectorStore>;
  storage: ObjectStorage;
  pipeline: DocumentPipeline;
  /** The served models: each collection is indexed with the model it records. */
  kits?: ModelKits;
  collectionLock: CollectionLock;
  collectionWriter: CollectionWriter;
  events: CompletionEvents;
  logger: Logger;
  embedBatchSize: number;
}

export type JobOutcome = 'ready' | 'unchanged' | 'updated' | 'deleted' | 'skipped';
