import type { SparseVector } from '@rag/contracts/embedding-api';

/**
 * What the product needs from a vector engine, independent of Milvus. One "space" holds the vectors of
 * one embedding model (its dimension and heads); tenants and collections share it and are told apart by
 * scalar fields that every query filters on.
 */
export interface VectorSpace {
  /** Stable identifier of the embedding model, e.g. "tiny-m3" or "multilingual-e5-small". */
  model: string;
  dim: number;
  hasSparse: boolean;
}

export interface ChunkVectorRow {
  chunkId: string;
  tenantId: string;
  collectionId: string;
  documentId: string;
  dense: number[];
  sparse?: SparseVector;
  /** The document's ACL principals; null (or empty) means visible to the whole tenant. */
  acl: string[] | null;
}

export interface VectorScope {
  tenantId: string;
  collectionId: string;
}

export interface HybridQuery {
  scope: VectorScope;
  /**
   * The caller's ACL principals: only chunks of documents without an ACL, or sharing one of these, match.
   * null means unrestricted. Applied inside the vector query, never after it.
   */
  principals: string[] | null;
  dense?: number[];
  sparse?: SparseVector;
  topK: number;
}

export interface VectorHit {
  chunkId: string;
  documentId: string;
  score: number;
}

export interface ChunkVectorStore {
  readonly space: VectorSpace;
  /** Creates the collection and its indexes if missing, and loads it. Idempotent. */
  ensureReady(): Promise<void>;
  insert(rows: ChunkVectorRow[]): Promise<void>;
  deleteByDocument(scope: VectorScope, documentId: string): Promise<void>;
  /** Makes written rows durable (Milvus flush); call once at the end of each ingest job. */
  flush(): Promise<void>;
  /** Dense + sparse with RRF when both vectors are given, a single-signal search otherwise. */
  search(query: HybridQuery): Promise<VectorHit[]>;
  countByDocument(scope: VectorScope, documentId: string): Promise<number>;
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
