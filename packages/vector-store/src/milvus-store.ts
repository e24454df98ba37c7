import { AppError } from '@rag/contracts/app-error';
import type { SparseVector } from '@rag/contracts/embedding-api';
import {
  type ClientConfig,
  ConsistencyLevelEnum,
  DataType,
  type FieldType,
  FunctionType,
  MilvusClient,
  RRFRanker,
  type SearchResultData,
} from '@zilliz/milvus2-sdk-node';
import type {
  Bm25Source,
  ChunkVectorRow,
  ChunkVectorStore,
  HybridQuery,
  SignalHits,
  SignalName,
  SignalSearch,
  VectorDocumentFields,
  VectorHit,
  VectorScope,
  VectorSpace,
} from './chunk-vector-store.js';
import { milvusAclValue } from './milvus-acl-value.js';
import { isIndexNotFound, milvusCall } from './milvus-call.js';
import { milvusCollectionName } from './milvus-collection-name.js';
import {
  allKeys,
  equalsFilter,
  isPagedKey,
  type KeyRange,
  rangeFilter,
  splitRange,
} from './primary-key-ranges.js';
import { assertSafeId, documentFilter, maxIdLength, scopeFilter, searchFilter } from './scope-filter.js';

/**
 * ChunkVectorStore on Milvus, through the gRPC SDK. Written against the real Milvus API; the local and
 * test setups run Milvus Lite behind the same protocol, and the places where it behaves differently are
 * marked "Milvus Lite:" below.
 */

export interface MilvusStoreOptions {
  /** `host:port` of the Milvus gRPC endpoint. */
  address: string;
  /** Prepended to the collection name, so test workers and environments can share one server. */
  collectionPrefix: string;
  space: VectorSpace;
  token?: string | undefined;
  database?: string | undefined;
  /** Rows per insert request; keeps each gRPC message well under Milvus's 64 MB limit. */
  insertBatchSize?: number;
  /** Per-request deadline for SDK calls. */
  timeoutMs?: number;
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

const fields = {
  chunkId: 'chunk_id',
  tenantId: 'tenant_id',
  collectionId: 'collection_id',
  documentId: 'document_id',
  dense: 'dense',
  sparse: 'sparse',
  bm25: 'bm25',
  metadata: 'metadata',
  text: 'text',
  aclPublic: 'acl_public',
  acl: 'acl',
} as const;

// Matches the public API's limit on a document's ACL.
const maxAclEntries = 1000;

const maxChunkIdLength = 256;
// Milvus rejects a topK above 16384, and a query's offset + limit above the same.
const maxTopK = 16_384;
const maxQueryWindow = 16_384;
const rrfK = 60;
const defaultInsertBatchSize = 500;
// Ids per delete expression.
const deleteBatchSize = 1000;
const defaultTimeoutMs = 30_000;

// HNSW on the dense field: supported by Milvus standalone and, through FAISS, by Milvus Lite.
// Vectors are normalised by the embedding service, so inner product ranks like cosine.
const denseIndex = {
  index_type: 'HNSW',
  metric_type: 'IP',
  params: { M: 16, efConstruction: 200 },
} as const;
const denseSearchEf = 64;
// Milvus Lite: rejects `inverted_index_algo: DAAT_MAXSCORE` (only TAAT_NAIVE), so no algorithm is named
// and each server uses its own default (DAAT_MAXSCORE on Milvus 2.5+).
const sparseIndex = { index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP' } as const;
// Inverted indexes on the scalar fields every filter tests, so filters do not scan rows one by one.
// (Milvus Lite accepts them too; its JSON and array filters are still evaluated row by row.)
const scalarIndex = { index_type: 'INVERTED' } as const;
const scalarIndexedFields = ['collection_id', 'document_id'] as const;
/**
 * Milvus rejects a sparse vector without a non-zero weight. Rows without BM25 terms get this dimension,
 * beyond every term id (31 bits), which no query vector ever contains.
 */
export const noTermsDimension = 2 ** 32 - 2;
const noTermsVector: SparseVector = { indices: [noTermsDimension], values: [1] };

export function createMilvusStore(options: MilvusStoreOptions): MilvusStore {
  const { space } = options;
  const bm25Source: Bm25Source = options.bm25 ?? 'token-ids';
  const milvusBm25 = bm25Source === 'milvus-function';
  const collectionName = milvusCollectionName(options.collectionPrefix, space) + (milvusBm25 ? '_fbm25' : '');
  const insertBatchSize = options.insertBatchSize ?? defaultInsertBatchSize;
  const searchTimeoutMs = options.searchTimeoutMs ?? options.timeoutMs ?? defaultTimeoutMs;
  const listPageSize = Math.min(options.listPageSize ?? maxQueryWindow, maxQueryWindow);
  const client = new MilvusClient(clientConfig(options));
  const context = { collection: collectionName };
  let reloading: Promise<void> | undefined;

  /**
   * Runs one SDK call; when Milvus answers that the collection is not loaded (a restarted Milvus Lite
   * forgets what was loaded), loads it and tries once more, so searches recover without a service restart.
   */
  async function call<T extends object>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await milvusCall(operation, request, { context });
    } catch (error) {
      if (!(error instanceof AppError) || !isNotLoaded(error.message)) throw error;
      // Concurrent calls that all hit the released collection share one load.
      reloading ??= milvusCall(
        'loadCollection',
        () => client.loadCollection({ collection_name: collectionName }),
        { context },
      )
        .then(() => undefined)
        .finally(() => {
          reloading = undefined;
        });
      await reloading;
      return milvusCall(operation, request, { context });
    }
  }

  async function ensureReady(): Promise<void> {
    const has = await call('hasCollection', () => client.hasCollection({ collection_name: collectionName }));
    if (has.value) await assertSchemaMatches();
    else await createCollection();
    await ensureIndexes();
    // Milvus Lite: loaded state does not survive a server restart, so this runs at every start-up.
    // Milvus standalone keeps collections loaded, and loading a loaded collection is a no-op there.
    await call('loadCollection', () => client.loadCollection({ collection_name: collectionName }));
  }

  async function createCollection(): Promise<void> {
    try {
      await call('createCollection', () =>
        client.createCollection({
          collection_name: collectionName,
          description: `Chunk vectors of ${space.model} (dim ${space.dim})`,
          fields: schemaFields(space, milvusBm25),
          ...(milvusBm25
            ? {
                functions: [
                  {
                    name: 'bm25_from_text',
                    type: FunctionType.BM25,
                    input_field_names: [fields.text],
                    output_field_names: [fields.bm25],
                    params: {},
                  },
                ],
              }
            : {}),
          enable_dynamic_field: false,
          consistency_level: 'Bounded',
        }),
      );
    } catch (error) {
      // Another process may have created it between our check and our create.
      const has = await call('hasCollection', () =>
        client.hasCollection({ collection_name: collectionName }),
      );
      if (!has.value) throw error;
      await assertSchemaMatches();
    }
  }

  async function assertSchemaMatches(): Promise<void> {
    const description = await call('describeCollection', () =>
      client.describeCollection({ collection_name: collectionName }),
    );
    const byName = new Map(description.schema.fields.map((field) => [field.name, field]));
    const dense = byName.get(fields.dense);
    const dim = dense?.type_params.find((param) => param.key === 'dim')?.value;
    const problems = [
      dense === undefined || Number(dim) !== space.dim ? `dense dim ${String(dim)} != ${space.dim}` : '',
      byName.has(fields.sparse) !== space.hasSparse ? `sparse field present != ${space.hasSparse}` : '',
      milvusBm25 && !byName.has(fields.text) ? `missing field ${fields.text}` : '',
      ...[
        fields.bm25,
        fields.metadata,
        fields.chunkId,
        fields.tenantId,
        fields.collectionId,
        fields.documentId,
        fields.aclPublic,
        fields.acl,
      ].map((name) => (byName.has(name) ? '' : `missing field ${name}`)),
    ].filter((problem) => problem !== '');
    if (problems.length > 0) {
      throw new AppError(
        'conflict',
        `Milvus collection ${collectionName} has another schema: ${problems.join('; ')}`,
        {
          context: { ...context, problems },
        },
      );
    }
  }

  async function ensureIndexes(): Promise<void> {
    const described = await milvusCall(
      'describeIndex',
      () => client.describeIndex({ collection_name: collectionName }),
      { context, accept: isIndexNotFound },
    );
    const indexed = new Set((described.index_descriptions ?? []).map((index) => index.field_name));
    // Milvus Lite: creating an index that already exists is an error (standalone accepts an identical
    // one), so only missing indexes are created.
    if (!indexed.has(fields.dense)) {
      await call('createIndex', () =>
        client.createIndex({
          collection_name: collectionName,
          field_name: fields.dense,
          index_name: fields.dense,
          ...denseIndex,
        }),
      );
    }
    if (!indexed.has(fields.bm25)) {
      await call('createIndex', () =>
        client.createIndex({
          collection_name: collectionName,
          field_name: fields.bm25,
          index_name: fields.bm25,
          ...sparseIndex,
          // Milvus's BM25 function output is searched with its own metric.
          ...(milvusBm25 ? { metric_type: 'BM25' } : {}),
        }),
      );
    }
    for (const field of scalarIndexedFields) {
      if (indexed.has(field)) continue;
      await call('createIndex', () =>
        client.createIndex({
          collection_name: collectionName,
          field_name: field,
          index_name: field,
          ...scalarIndex,
        }),
      );
    }
    if (space.hasSparse && !indexed.has(fields.sparse)) {
      await call('createIndex', () =>
        client.createIndex({
          collection_name: collectionName,
          field_name: fields.sparse,
          index_name: fields.sparse,
          ...sparseIndex,
        }),
      );
    }
  }

  async function insert(rows: ChunkVectorRow[]): Promise<void> {
    // Validate everything first, so a bad row never leaves an earlier batch half-written.
    const data = rows.map((row, index) => toMilvusRow(row, index, space, milvusBm25));
    for (let start = 0; start < data.length; start += insertBatchSize) {
      const batch = data.slice(start, start + insertBatchSize);
      const result = await call('insert', () =>
        client.insert({ collection_name: collectionName, data: batch }),
      );
      if (Number(result.insert_cnt) !== batch.length) {
        throw new AppError(
          'dependency_unavailable',
          `Milvus insert stored ${result.insert_cnt} of ${batch.length} rows`,
          { context: { ...context, errIndex: result.err_index }, retryable: true },
        );
      }
    }
  }

  async function replace(rows: ChunkVectorRow[]): Promise<void> {
    const data = rows.map((row, index) => toMilvusRow(row, index, space, milvusBm25));
    for (let start = 0; start < data.length; start += insertBatchSize) {
      const batch = data.slice(start, start + insertBatchSize);
      // A full upsert: each row takes the place of the one with its id, or is added.
      const result = await call('upsert', () =>
        client.upsert({ collection_name: collectionName, data: batch }),
      );
      if (Number(result.upsert_cnt) !== batch.length) {
        throw new AppError(
          'dependency_unavailable',
          `Milvus upsert wrote ${result.upsert_cnt} of ${batch.length} rows`,
          {
            context,
            retryable: true,
          },
        );
      }
    }
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
    const acl = update.acl ?? [];
    if (acl.length > maxAclEntries)
      throw new AppError('bad_request', `more than ${maxAclEntries} ACL entries`);
    const scalars = {
      [fields.aclPublic]: acl.length === 0,
      [fields.acl]: [...new Set(acl.map(milvusAclValue))],
      [fields.metadata]: update.metadata,
    };
    const chunkIds: string[] = [];
    for await (const batch of queryPages(documentFilter(scope, documentId), [fields.chunkId])) {
      chunkIds.push(...batch.map((row) => String(row[fields.chunkId])));
    }
    // Milvus 2.6 partial update: only the named fields change, the vectors (and the BM25 function's
    // input text) stay as they are.
    for (let start = 0; start < chunkIds.length; start += insertBatchSize) {
      const data = chunkIds
        .slice(start, start + insertBatchSize)
        .map((chunkId) => ({ [fields.chunkId]: chunkId, [fields.tenantId]: scope.tenantId, ...scalars }));
      const result = await call('upsert', () =>
        client.upsert({ collection_name: collectionName, data, partial_update: true }),
      );
      if (Number(result.upsert_cnt) !== data.length) {
        throw new AppError(
          'dependency_unavailable',
          `Milvus upsert changed ${result.upsert_cnt} of ${data.length} rows`,
          { context, retryable: true },
        );
      }
    }
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
    const result = await call('query', () =>
      client.query({
        collection_name: collectionName,
        filter,
        output_fields: ['count(*)'],
        consistency_level: ConsistencyLevelEnum.Strong,
      }),
    );
    const count = Number(result.data[0]?.['count(*)']);
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
    limit: number,
  ): Promise<Array<Record<string, unknown>>> {
    const result = await call('query', () =>
      client.query({
        collection_name: collectionName,
        filter,
        output_fields: outputFields,
        limit,
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
    const filter = documentFilter(scope, documentId);
    const result = await call('query', () =>
      client.query({
        collection_name: collectionName,
        filter,
        output_fields: ['count(*)'],
        consistency_level: ConsistencyLevelEnum.Strong,
      }),
    );
    const count = Number(result.data[0]?.['count(*)']);
    if (!Number.isInteger(count)) {
      throw new AppError('dependency_unavailable', 'Milvus count(*) query returned no count', {
        context,
        retryable: true,
      });
    }
    return count;
  }

  async function flush(): Promise<void> {
    await call('flush', () => client.flushSync({ collection_names: [collectionName] }));
  }

  async function search(query: HybridQuery): Promise<VectorHit[]> {
    const filter = searchFilter(query.scope, query.principals);
    if (!Number.isInteger(query.topK) || query.topK < 1 || query.topK > maxTopK) {
      throw new AppError('bad_request', `topK must be an integer from 1 to ${maxTopK}`);
    }
    const dense = query.dense;
    if (dense !== undefined) assertDense(dense, space.dim, 'query dense vector');
    // An empty sparse query matches nothing; treat it as absent rather than failing the search.
    const sparse = query.sparse !== undefined && query.sparse.indices.length > 0 ? query.sparse : undefined;
    if (sparse !== undefined) {
      if (!space.hasSparse) throw new AppError('bad_request', `space ${space.model} has no sparse vectors`);
      assertSparse(sparse, 'query sparse vector');
    }
    const outputFields = [fields.chunkId, fields.documentId];
    const denseRequest =
      dense === undefined
        ? undefined
        : {
            anns_field: fields.dense,
            data: dense,
            metric_type: denseIndex.metric_type,
            // HNSW needs ef >= topK.
            params: { ef: Math.max(denseSearchEf, query.topK) },
          };
    const sparseRequest =
      sparse === undefined
        ? undefined
        : { anns_field: fields.sparse, data: sparse, metric_type: sparseIndex.metric_type, params: {} };

    if (denseRequest !== undefined && sparseRequest !== undefined) {
      // Each AnnSearch request carries its own filter and metric; the SDK reads metric_type from the
      // request object, so the requests are built as plain objects rather than typed literals.
      const result = await call('hybridSearch', () =>
        client.hybridSearch({
          collection_name: collectionName,
          timeout: searchTimeoutMs,
          data: [
            { ...denseRequest, expr: filter },
            { ...sparseRequest, expr: filter },
          ],
          rerank: RRFRanker(rrfK),
          limit: query.topK,
          output_fields: outputFields,
        }),
      );
      return result.results.map(toHit);
    }
    const single = denseRequest ?? sparseRequest;
    if (single === undefined) throw new AppError('bad_request', 'a search needs a dense or a sparse vector');
    const result = await call('search', () =>
      client.search({
        collection_name: collectionName,
        timeout: searchTimeoutMs,
        ...single,
        filter,
        limit: query.topK,
        output_fields: outputFields,
      }),
    );
    return result.results.map(toHit);
  }

  async function searchSignals(query: SignalSearch): Promise<SignalHits> {
    const scope = searchFilter(query.scope, query.principals);
    const filter = query.metadataFilter ? `${scope} && (${query.metadataFilter})` : scope;
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > maxTopK) {
      throw new AppError('bad_request', `limit must be an integer from 1 to ${maxTopK}`);
    }
    const requests: [SignalName, Record<string, unknown>][] = [];
    const { dense, sparse, bm25 } = query.vectors;
    if (dense !== undefined) {
      assertDense(dense, space.dim, 'query dense vector');
      requests.push([
        'dense',
        {
          anns_field: fields.dense,
          data: dense,
          metric_type: denseIndex.metric_type,
          params: { ef: Math.max(denseSearchEf, query.limit) },
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
      if (milvusBm25)
        throw new AppError('bad_request', 'this store computes BM25 itself: pass the query text');
      assertSparse(bm25, 'query BM25 vector');
      requests.push(['bm25', { anns_field: fields.bm25, data: bm25, metric_type: 'IP', params: {} }]);
    }
    const answers = await Promise.all(
      requests.map(async ([signal, request]): Promise<[SignalName, VectorHit[]]> => {
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
      }),
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
    search,
    searchSignals,
    countByDocument,
    checkHealth,
    close,
  };
}

/** Milvus's answer to a search or query on a collection that is not (or no longer) loaded. */
export function isNotLoaded(message: string): boolean {
  return /not loaded|state '?released'?|call load\(\)/i.test(message);
}

function clientConfig(options: MilvusStoreOptions): ClientConfig {
  const config: ClientConfig = {
    address: options.address,
    timeout: options.timeoutMs ?? defaultTimeoutMs,
    logLevel: 'error',
    // The SDK pings every 10 s, idle or not; servers with gRPC's default ping policy (Milvus Lite: no more
    // than one ping per 5 min without calls) answer "too many pings" and the channel logs an error. Pinging
    // only while calls are open, once a minute, still finds a dead peer under a hung call.
    channelOptions: { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_permit_without_calls': 0 },
  };
  if (options.token !== undefined) config.token = options.token;
  if (options.database !== undefined) config.database = options.database;
  return config;
}

// Longest chunk text Milvus's VarChar takes (bytes); only stored for Milvus's BM25 function.
const maxTextLength = 65_535;

function schemaFields(space: VectorSpace, milvusBm25: boolean): FieldType[] {
  const schema: FieldType[] = [
    {
      name: fields.chunkId,
      data_type: DataType.VarChar,
      is_primary_key: true,
      autoID: false,
      max_length: maxChunkIdLength,
    },
    // Partition key: Milvus hashes tenants into partitions, so a tenant's filter only scans its own.
    { name: fields.tenantId, data_type: DataType.VarChar, max_length: maxIdLength, is_partition_key: true },
    { name: fields.collectionId, data_type: DataType.VarChar, max_length: maxIdLength },
    { name: fields.documentId, data_type: DataType.VarChar, max_length: maxIdLength },
    { name: fields.dense, data_type: DataType.FloatVector, dim: space.dim },
    // Per-document ACL, filtered inside every search: a flag for documents without an ACL (a cheap scalar
    // test) and the principals for the others.
    { name: fields.aclPublic, data_type: DataType.Bool },
    {
      name: fields.acl,
      data_type: DataType.Array,
      element_type: DataType.VarChar,
      max_capacity: maxAclEntries,
      max_length: 256,
    },
  ];
  if (space.hasSparse) schema.push({ name: fields.sparse, data_type: DataType.SparseFloatVector });
  schema.push(
    { name: fields.bm25, data_type: DataType.SparseFloatVector },
    // Document metadata for metadata filters. Milvus Lite evaluates JSON filters row by row.
    { name: fields.metadata, data_type: DataType.JSON },
  );
  if (milvusBm25) {
    schema.push({
      name: fields.text,
      data_type: DataType.VarChar,
      max_length: maxTextLength,
      enable_analyzer: true,
      analyzer_params: { type: 'standard' },
    });
  }
  return schema;
}

interface MilvusRow {
  [field: string]: string | boolean | string[] | number[] | SparseVector | Record<string, unknown>;
}

function toMilvusRow(row: ChunkVectorRow, index: number, space: VectorSpace, milvusBm25: boolean): MilvusRow {
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
  if (row.acl !== null) {
    if (row.acl.length > maxAclEntries)
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

function assertDense(vector: number[], dim: number, what: string): void {
  if (vector.length !== dim || !vector.every(Number.isFinite)) {
    throw new AppError('validation_failed', `${what} must have ${dim} finite numbers, got ${vector.length}`);
  }
}

function assertSparse(vector: SparseVector, what: string): void {
  const { indices, values } = vector;
  const valid =
    indices.length === values.length &&
    indices.every((i) => Number.isInteger(i) && i >= 0 && i < 2 ** 32 - 1) &&
    values.every(Number.isFinite);
  if (!valid) {
    throw new AppError('validation_failed', `${what} needs matching indices (uint32) and finite values`);
  }
}

function toHit(result: SearchResultData): VectorHit {
  return {
    chunkId: String(result[fields.chunkId] ?? result.id),
    documentId: String(result[fields.documentId]),
    score: result.score,
  };
}
