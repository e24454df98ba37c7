import { AppError } from '@rag/contracts/app-error';
import type { SparseVector } from '@rag/contracts/embedding-api';
import type { SearchResultData } from '@zilliz/milvus2-sdk-node';
import type {
  ChunkVectorRow,
  SignalName,
  SignalSearch,
  VectorDocumentFields,
  VectorHit,
  VectorSpace,
} from './chunk-vector-store.js';
import { milvusAclValue } from './milvus-acl-value.js';
import {
  denseIndex,
  denseSearchEf,
  fields,
  maxAclEntries,
  maxChunkIdLength,
  maxTextLength,
} from './milvus-schema.js';
import { isPagedKey } from './primary-key-ranges.js';
import { assertSafeId } from './scope-filter.js';

/**
 * What goes into Milvus and comes out of it: rows built from ChunkVectorRow and checked before anything is
 * written (so a bad row fails with a clear error instead of a half-written batch), the search request of
 * each signal with its query vector checked the same way, and hits read back.
 */

/**
 * Milvus rejects a sparse vector without a non-zero weight. Rows without BM25 terms get this dimension,
 * beyond every term id (31 bits), which no query vector ever contains.
 */
export const noTermsDimension = 2 ** 32 - 2;
const noTermsVector: SparseVector = { indices: [noTermsDimension], values: [1] };

export interface MilvusRow {
  [field: string]: string | boolean | string[] | number[] | SparseVector | Record<string, unknown>;
}

export function toMilvusRow(
  row: ChunkVectorRow,
  index: number,
  space: VectorSpace,
  milvusBm25: boolean,
): MilvusRow {
  const where = `row ${index}`;
  if (typeof row.chunkId !== 'string' || row.chunkId.length > maxChunkIdLength || !isPagedKey(row.chunkId)) {
    throw new AppError(
      'bad_request',
      `${where}: chunkId must be 1-${maxChunkIdLength} printable ASCII characters without spaces`,
    );
  }
  assertSafeId('tenantId', row.tenantId);
  assertSafeId('collectionId', row.collectionId);
  assertSafeId('documentId', row.documentId);
  assertDense(row.dense, space.dim, `${where} dense vector`);
  const data: MilvusRow = {
    [fields.chunkId]: row.chunkId,
    [fields.tenantId]: row.tenantId,
    [fields.collectionId]: row.collectionId,
    [fields.documentId]: row.documentId,
    [fields.dense]: row.dense,
    [fields.aclPublic]: row.acl === null || row.acl.length === 0,
    [fields.metadata]: row.metadata ?? {},
  };
  if (milvusBm25) {
    // Milvus computes the bm25 field from the text; the byte limit is Milvus's.
    if (typeof row.text !== 'string' || Buffer.byteLength(row.text) > maxTextLength) {
      throw new AppError(
        'validation_failed',
        `${where}: text must be a string of at most ${maxTextLength} bytes`,
      );
    }
    data[fields.text] = row.text;
  } else {
    const bm25 = row.bm25 !== undefined && row.bm25.indices.length > 0 ? row.bm25 : noTermsVector;
    assertSparse(bm25, `${where} BM25 vector`);
    data[fields.bm25] = bm25;
  }
  if (row.acl !== null && row.acl.length > maxAclEntries) {
    throw new AppError('bad_request', `${where}: more than ${maxAclEntries} ACL entries`);
  }
  data[fields.acl] = [...new Set((row.acl ?? []).map(milvusAclValue))];
  if (space.hasSparse) {
    // Milvus Lite rejects a sparse vector without weights; standalone accepts it. Requiring one keeps
    // both the same, and a chunk with no sparse weights points at an embedding problem anyway.
    if (row.sparse === undefined || row.sparse.indices.length === 0) {
      throw new AppError(
        'validation_failed',
        `${where}: the space has sparse vectors, the row has no sparse weights`,
      );
    }
    assertSparse(row.sparse, `${where} sparse vector`);
    data[fields.sparse] = row.sparse;
  }
  return data;
}

/** The scalar fields a document's ACL and metadata set on each of its rows (a partial update). */
export function documentScalars(update: VectorDocumentFields): MilvusRow {
  const acl = update.acl ?? [];
  if (acl.length > maxAclEntries) throw new AppError('bad_request', `more than ${maxAclEntries} ACL entries`);
  return {
    [fields.aclPublic]: acl.length === 0,
    [fields.acl]: [...new Set(acl.map(milvusAclValue))],
    [fields.metadata]: update.metadata,
  };
}

export function assertDense(vector: number[], dim: number, what: string): void {
  if (vector.length !== dim || !vector.every(Number.isFinite)) {
    throw new AppError('validation_failed', `${what} must have ${dim} finite numbers, got ${vector.length}`);
  }
}

export function assertSparse(vector: SparseVector, what: string): void {
  const { indices, values } = vector;
  const valid =
    indices.length === values.length &&
    indices.every((i) => Number.isInteger(i) && i >= 0 && i < 2 ** 32 - 1) &&
    values.every(Number.isFinite);
  if (!valid) {
    throw new AppError('validation_failed', `${what} needs matching indices (uint32) and finite values`);
  }
}

/** One search request per signal the query has a vector for, each checked against the space. */
export function signalRequests(
  { dense, sparse, bm25 }: SignalSearch['vectors'],
  limit: number,
  space: VectorSpace,
  milvusBm25: boolean,
): Array<[SignalName, Record<string, unknown>]> {
  const requests: Array<[SignalName, Record<string, unknown>]> = [];
  if (dense !== undefined) {
    assertDense(dense, space.dim, 'query dense vector');
    requests.push([
      'dense',
      {
        anns_field: fields.dense,
        data: dense,
        metric_type: denseIndex.metric_type,
        // HNSW needs ef >= topK.
        params: { ef: Math.max(denseSearchEf, limit) },
      },
    ]);
  }
  if (sparse !== undefined) {
    if (!space.hasSparse) throw new AppError('bad_request', `space ${space.model} has no sparse vectors`);
    assertSparse(sparse, 'query sparse vector');
    requests.push(['sparse', { anns_field: fields.sparse, data: sparse, metric_type: 'IP', params: {} }]);
  }
  if (typeof bm25 === 'string') {
    if (!milvusBm25) throw new AppError('bad_request', 'this store takes BM25 query vectors, not text');
    requests.push(['bm25', { anns_field: fields.bm25, data: [bm25], metric_type: 'BM25', params: {} }]);
  } else if (bm25 !== undefined) {
    if (milvusBm25) throw new AppError('bad_request', 'this store computes BM25 itself: pass the query text');
    assertSparse(bm25, 'query BM25 vector');
    requests.push(['bm25', { anns_field: fields.bm25, data: bm25, metric_type: 'IP', params: {} }]);
  }
  return requests;
}

export function toHit(result: SearchResultData): VectorHit {
  return {
    chunkId: String(result[fields.chunkId] ?? result.id),
    documentId: String(result[fields.documentId]),
    score: result.score,
  };
}
