import { AppError } from '@rag/contracts/app-error';
import type { SparseVector } from '@rag/contracts/embedding-api';
import { ConsistencyLevelEnum } from '@zilliz/milvus2-sdk-node';
import type {
  Bm25Source,
  ChunkVectorRow,
  ChunkVectorStore,
  SignalHits,
  SignalName,
  SignalSearch,
  VectorDocumentFields,
  VectorHit,
  VectorScope,
  VectorSpace,
} from './chunk-vector-store.js';
import { milvusCollectionName } from './milvus-collection-name.js';
import { connectMilvus, defaultMilvusTimeoutMs, type MilvusConnectionOptions } from './milvus-connection.js';
import { flushAndWait } from './milvus-flush.js';
import { documentScalars, type MilvusRow, signalRequests, toHit, toMilvusRow } from './milvus-rows.js';
import { ensureCollection, fields } from './milvus-schema.js';
import { allKeys, equalsFilter, type KeyRange, rangeFilter, splitRange } from './primary-key-ranges.js';
import { assertSafeId, documentFilter, scopeFilter, searchFilter } from './scope-filter.js';

/**
 * ChunkVectorStore on Milvus, through the gRPC SDK. Written against the real Milvus API; the local and
 * test setups run Milvus Lite behind the same protocol, and the places where it behaves differently are
 * marked "Milvus Lite:" (here, in milvus-schema.ts and in milvus-rows.ts).
 */

export interface MilvusStoreOptions extends MilvusConnectionOptions {
  /** Prepended to the collection name, so test workers and environments can share one server. */
  collectionPrefix: string;
  space: VectorSpace;
  /** Rows per insert request; keeps each gRPC message well under Milvus's 64 MB limit. */
  insertBatchSize?: number;
  /** The most rows one query of a listing returns (at most Milvus's 16,384; smaller in tests). */
  listPageSize?: number;
  /** Deadline of each search call (the request path), usually shorter than `timeoutMs`. */
  searchTimeoutMs?: number | undefined;
  /**
   * `token-ids` (default): rows carry our BM25 vectors (the lexical analyzer's term ids). `milvus-function`: rows carry the chunk text and
   * Milvus's BM25 function (its `standard` analyzer, which does not split Japanese or Chinese) computes them;
   * it lives in a collection of its own (suffix `_fbm25`).
   */
  bm25?: Bm25Source | undefined;
}

export interface MilvusStore extends ChunkVectorStore {
  readonly collectionName: string;
}

// Milvus rejects a topK above 16384, and a query's offset + limit above the same.
const maxTopK = 16_384;
const maxQueryWindow = 16_384;
const defaultInsertBatchSize = 500;
// Ids per delete expression.
const deleteBatchSize = 1000;

export function createMilvusStore(options: MilvusStoreOptions): MilvusStore {
  const { space } = options;
  const bm25Source: Bm25Source = options.bm25 ?? 'token-ids';
  const milvusBm25 = bm25Source === 'milvus-function';
  const collectionName = milvusCollectionName(options.collectionPrefix, space) + (milvusBm25 ? '_fbm25' : '');
  const insertBatchSize = options.insertBatchSize ?? defaultInsertBatchSize;
  const searchTimeoutMs = options.searchTimeoutMs ?? options.timeoutMs ?? defaultMilvusTimeoutMs;
  const listPageSize = Math.min(options.listPageSize ?? maxQueryWindow, maxQueryWindow);
  const { client, call, context } = connectMilvus(options, collectionName);

  async function ensureReady(): Promise<void> {
    await ensureCollection({ client, name: collectionName, space, milvusBm25, call });
  }

  /**
   * Writes rows in batches: `insert` adds them, `upsert` puts each in place of the row with its id (a full
   * upsert), `partial upsert` changes only the fields the rows name (Milvus 2.6 partial update).
   */
  async function writeBatches(
    kind: 'insert' | 'upsert' | 'partial upsert',
    data: MilvusRow[],
  ): Promise<void> {
    for (let start = 0; start < data.length; start += insertBatchSize) {
      const batch = data.slice(start, start + insertBatchSize);
      const request = { collection_name: collectionName, data: batch };
      const written =
        kind === 'insert'
          ? await call('insert', () => client.insert(request))
          : await call('upsert', () =>
              client.upsert({ ...request, ...(kind === 'partial upsert' ? { partial_update: true } : {}) }),
            );
      const count = kind === 'insert' ? written.insert_cnt : written.upsert_cnt;
      if (Number(count) !== batch.length) {
        throw new AppError(
          'dependency_unavailable',
          `Milvus ${kind} wrote ${count} of ${batch.length} rows`,
          { context: { ...context, errIndex: written.err_index }, retryable: true },
        );
      }
    }
  }

  // Every row is built and checked before the first batch is written, so a bad row never leaves an
  // earlier batch half-written.
  const toRows = (rows: ChunkVectorRow[]) => rows.map((row, i) => toMilvusRow(row, i, space, milvusBm25));

  async function insert(rows: ChunkVectorRow[]): Promise<void> {
    await writeBatches('insert', toRows(rows));
  }

  async function replace(rows: ChunkVectorRow[]): Promise<void> {
    await writeBatches('upsert', toRows(rows));
  }

  async function deleteByDocument(scope: VectorScope, documentId: string): Promise<void> {
    const filter = documentFilter(scope, documentId);
    // Strong consistency: the delete must see rows that were inserted just before it (re-ingestion).
    await call('delete', () =>
      client.delete({ collection_name: collectionName, filter, consistency_level: 'Strong' }),
    );
  }

  async function deleteByIds(scope: VectorScope, chunkIds: string[]): Promise<void> {
    for (const id of chunkIds) assertSafeId('chunkId', id);
    for (let start = 0; start < chunkIds.length; start += deleteBatchSize) {
      const ids = chunkIds.slice(start, start + deleteBatchSize);
      const filter = `${scopeFilter(scope)} && ${fields.chunkId} in [${ids.map((id) => `"${id}"`).join(',')}]`;
      await call('delete', () =>
        client.delete({ collection_name: collectionName, filter, consistency_level: 'Strong' }),
      );
    }
  }

  async function updateDocumentFields(
    scope: VectorScope,
    documentId: string,
    update: VectorDocumentFields,
  ): Promise<void> {
    const scalars = documentScalars(update);
    const chunkIds: string[] = [];
    for await (const batch of queryPages(documentFilter(scope, documentId), [fields.chunkId])) {
      chunkIds.push(...batch.map((row) => String(row[fields.chunkId])));
    }
    // Only the named fields change; the vectors (and the BM25 function's input text) stay as they are.
    await writeBatches(
      'partial upsert',
      chunkIds.map((chunkId) => ({
        [fields.chunkId]: chunkId,
        [fields.tenantId]: scope.tenantId,
        ...scalars,
      })),
    );
  }

  /**
   * Rows matching an expression, in batches, at strong consistency: a range of primary keys at a time, each
   * counted first and cut smaller until it fits one query (primary-key-ranges.ts says why not the SDK's
   * iterator).
   */
  async function* queryPages(
    expr: string,
    outputFields: string[],
  ): AsyncIterable<Array<Record<string, unknown>>> {
    const pending: KeyRange[] = [allKeys];
    while (pending.length > 0) {
      const range = pending.pop()!;
      const filter = `(${expr}) && ${rangeFilter(fields.chunkId, range)}`;
      const count = await countWhere(filter);
      if (count === 0) continue;
      if (count <= listPageSize) {
        yield await queryWhere(filter, outputFields, listPageSize);
        continue;
      }
      const { ranges, exact } = splitRange(range);
      if (exact !== undefined) {
        const rows = await queryWhere(
          `(${expr}) && ${equalsFilter(fields.chunkId, exact)}`,
          outputFields,
          listPageSize,
        );
        if (rows.length > 0) yield rows;
      }
      pending.push(...ranges);
    }
  }

  async function countWhere(filter: string): Promise<number> {
    const [row] = await queryWhere(filter, ['count(*)']);
    const count = Number(row?.['count(*)']);
    if (!Number.isInteger(count)) {
      throw new AppError('dependency_unavailable', 'Milvus count answered no number', {
        context,
        retryable: true,
      });
    }
    return count;
  }

  async function queryWhere(
    filter: string,
    outputFields: string[],
    limit?: number,
  ): Promise<Array<Record<string, unknown>>> {
    const result = await call('query', () =>
      client.query({
        collection_name: collectionName,
        filter,
        output_fields: outputFields,
        ...(limit === undefined ? {} : { limit }),
        consistency_level: ConsistencyLevelEnum.Strong,
      }),
    );
    return result.data as Array<Record<string, unknown>>;
  }

  async function* listChunks(
    scope: VectorScope,
  ): AsyncIterable<Array<{ chunkId: string; documentId: string }>> {
    for await (const batch of queryPages(scopeFilter(scope), [fields.chunkId, fields.documentId])) {
      yield batch.map((row) => ({
        chunkId: String(row[fields.chunkId]),
        documentId: String(row[fields.documentId]),
      }));
    }
  }

  async function countByDocument(scope: VectorScope, documentId: string): Promise<number> {
    return countWhere(documentFilter(scope, documentId));
  }

  async function flush(): Promise<void> {
    await flushAndWait({
      flush: () => call('flush', () => client.flush({ collection_names: [collectionName] })),
      getFlushState: (segmentIDs) => call('flush', () => client.getFlushState({ segmentIDs })),
    });
  }

  async function searchSignals(query: SignalSearch): Promise<SignalHits> {
    const scope = searchFilter(query.scope, query.principals);
    const filter = query.metadataFilter ? `${scope} && (${query.metadataFilter})` : scope;
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > maxTopK) {
      throw new AppError('bad_request', `limit must be an integer from 1 to ${maxTopK}`);
    }
    const answers = await Promise.all(
      signalRequests(query.vectors, query.limit, space, milvusBm25).map(
        async ([signal, request]): Promise<[SignalName, VectorHit[]]> => {
          // An empty sparse query matches nothing; Milvus would reject it.
          const data = request.data as SparseVector | number[] | string[];
          if (!Array.isArray(data)) {
            if (data.indices.length === 0) return [signal, []];
          } else if (typeof data[0] === 'string' && data[0].trim() === '') return [signal, []];
          const result = await call(`search ${signal}`, () =>
            client.search({
              collection_name: collectionName,
              timeout: searchTimeoutMs,
              ...request,
              filter,
              limit: query.limit,
              output_fields: [fields.chunkId, fields.documentId],
            } as Parameters<typeof client.search>[0]),
          );
          return [signal, result.results.map(toHit)];
        },
      ),
    );
    return Object.fromEntries(answers);
  }

  async function checkHealth(): Promise<void> {
    const health = await call('checkHealth', () => client.checkHealth());
    if (!health.isHealthy) {
      throw new AppError('dependency_unavailable', `Milvus is unhealthy: ${health.reasons.join('; ')}`, {
        context,
        retryable: true,
      });
    }
  }

  async function close(): Promise<void> {
    await client.closeConnection();
  }

  return {
    space,
    bm25Source,
    collectionName,
    ensureReady,
    insert,
    replace,
    deleteByDocument,
    deleteByIds,
    updateDocumentFields,
    listChunks,
    flush,
    searchSignals,
    countByDocument,
    checkHealth,
    close,
  };
}
