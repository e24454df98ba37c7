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
  /**
   * BM25 document vector over the lexical analyzer's term ids (@rag/lexical). A row without one (written
   * before BM25 existed, or with no terms) gets a placeholder that no BM25 query can match.
   */
  bm25?: SparseVector;
  /** The chunk's text: only stored where Milvus computes BM25 itself (MILVUS_BM25=milvus-function). */
  text?: string;
  /** The document's metadata, for metadata filters inside the vector query. */
  metadata?: Record<string, unknown>;
  /** The document's ACL principals; null (or empty) means visible to the whole tenant. */
  acl: string[] | null;
}

/** The document fields each vector row carries for filtering inside the vector query. */
export interface VectorDocumentFields {
  acl: string[] | null;
  metadata: Record<string, unknown>;
}

export interface VectorScope {
  tenantId: string;
  collectionId: string;
}

/** The signals a space can be searched by, each a vector field of its own. */
export type SignalName = 'dense' | 'sparse' | 'bm25';

export interface SignalSearch {
  scope: VectorScope;
  /**
   * The caller's ACL principals: only chunks of documents without an ACL, or sharing one of these, match.
   * null means unrestricted. Applied inside every signal's query, never after it.
   */
  principals: string[] | null;
  /** A compiled metadata filter (metadata-filter-milvus.ts), ANDed into the scope filter; '' for none. */
  metadataFilter: string;
  /** One query vector per signal to search; each runs as its own search, concurrently. */
  vectors: {
    dense?: number[];
    sparse?: SparseVector;
    /** Our BM25 query vector, or the query text for Milvus's BM25 function (see bm25Source). */
    bm25?: SparseVector | string;
  };
  /** Hits per signal. */
  limit: number;
}

export type SignalHits = Partial<Record<SignalName, VectorHit[]>>;

export interface VectorHit {
  chunkId: string;
  documentId: string;
  score: number;
}

/**
 * Who computes BM25: we do (`token-ids`, a name kept from when the terms were the model's token ids; they are
 * the lexical analyzer's term ids), or Milvus's BM25 function over the text.
 */
export type Bm25Source = 'token-ids' | 'milvus-function';

export interface ChunkVectorStore {
  readonly space: VectorSpace;
  readonly bm25Source: Bm25Source;
  /** Creates the collection and its indexes if missing, and loads it. Idempotent. */
  ensureReady(): Promise<void>;
  insert(rows: ChunkVectorRow[]): Promise<void>;
  /** Writes rows in place of the rows with the same chunk ids (a re-index keeps its chunks' ids). */
  replace(rows: ChunkVectorRow[]): Promise<void>;
  deleteByDocument(scope: VectorScope, documentId: string): Promise<void>;
  /** Deletes the given chunks (e.g. an old version's, after the new one became visible). */
  deleteByIds(scope: VectorScope, chunkIds: string[]): Promise<void>;
  /**
   * Sets the ACL and metadata of every row of a document in place (a partial upsert: vectors stay, nothing
   * is re-embedded). Call flush afterwards.
   */
  updateDocumentFields(scope: VectorScope, documentId: string, fields: VectorDocumentFields): Promise<void>;
  /** Every chunk of a collection, in batches (the doctor compares them with PostgreSQL). */
  listChunks(scope: VectorScope): AsyncIterable<Array<{ chunkId: string; documentId: string }>>;
  /** Makes written rows durable (Milvus flush); call once at the end of each ingest job. */
  flush(): Promise<void>;
  /** Searches each given signal on its own (for fusion in the caller), best first. */
  searchSignals(query: SignalSearch): Promise<SignalHits>;
  countByDocument(scope: VectorScope, documentId: string): Promise<number>;
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
