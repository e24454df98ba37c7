import { AppError } from '@rag/contracts/app-error';
import { DataType, type FieldType, FunctionType, type MilvusClient } from '@zilliz/milvus2-sdk-node';
import type { VectorSpace } from './chunk-vector-store.js';
import { isIndexNotFound, milvusCall } from './milvus-call.js';
import { maxIdLength } from './scope-filter.js';

/**
 * The Milvus collection of one vector space: its fields, their indexes, and the start-up step that creates
 * them (or checks that an existing collection has them) and loads the collection.
 */

export const fields = {
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
export const maxAclEntries = 1000;
export const maxChunkIdLength = 256;
// Longest chunk text Milvus's VarChar takes (bytes); only stored for Milvus's BM25 function.
export const maxTextLength = 65_535;

// HNSW on the dense field: supported by Milvus standalone and, through FAISS, by Milvus Lite.
// Vectors are normalised by the embedding service, so inner product ranks like cosine.
export const denseIndex = {
  index_type: 'HNSW',
  metric_type: 'IP',
  params: { M: 16, efConstruction: 200 },
} as const;
export const denseSearchEf = 64;
// Milvus Lite: rejects `inverted_index_algo: DAAT_MAXSCORE` (only TAAT_NAIVE), so no algorithm is named
// and each server uses its own default (DAAT_MAXSCORE on Milvus 2.5+).
export const sparseIndex = { index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP' } as const;
// Inverted indexes on the scalar fields every filter tests, so filters do not scan rows one by one.
// (Milvus Lite accepts them too; its JSON and array filters are still evaluated row by row.)
const scalarIndex = { index_type: 'INVERTED' } as const;
const scalarIndexedFields = ['collection_id', 'document_id'] as const;

export interface MilvusCollection {
  client: MilvusClient;
  name: string;
  space: VectorSpace;
  /** The collection carries the chunk text and Milvus's BM25 function computes the bm25 field from it. */
  milvusBm25: boolean;
  /** Runs one SDK call (the store's, which loads a released collection again and retries). */
  call<T extends object>(operation: string, request: () => Promise<T>): Promise<T>;
}

/** Creates the collection and its indexes if missing (or checks an existing one's schema) and loads it. */
export async function ensureCollection(collection: MilvusCollection): Promise<void> {
  const { client, name, call } = collection;
  const has = await call('hasCollection', () => client.hasCollection({ collection_name: name }));
  if (has.value) await assertSchemaMatches(collection);
  else await createCollection(collection);
  await ensureIndexes(collection);
  // Milvus Lite: loaded state does not survive a server restart, so this runs at every start-up.
  // Milvus standalone keeps collections loaded, and loading a loaded collection is a no-op there.
  await call('loadCollection', () => client.loadCollection({ collection_name: name }));
}

async function createCollection(collection: MilvusCollection): Promise<void> {
  const { client, name, space, milvusBm25, call } = collection;
  try {
    await call('createCollection', () =>
      client.createCollection({
        collection_name: name,
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
    const has = await call('hasCollection', () => client.hasCollection({ collection_name: name }));
    if (!has.value) throw error;
    await assertSchemaMatches(collection);
  }
}

async function assertSchemaMatches({
  client,
  name,
  space,
  milvusBm25,
  call,
}: MilvusCollection): Promise<void> {
  const description = await call('describeCollection', () =>
    client.describeCollection({ collection_name: name }),
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
    ].map((field) => (byName.has(field) ? '' : `missing field ${field}`)),
  ].filter((problem) => problem !== '');
  if (problems.length > 0) {
    throw new AppError('conflict', `Milvus collection ${name} has another schema: ${problems.join('; ')}`, {
      context: { collection: name, problems },
    });
  }
}

async function ensureIndexes({ client, name, space, milvusBm25, call }: MilvusCollection): Promise<void> {
  const described = await milvusCall('describeIndex', () => client.describeIndex({ collection_name: name }), {
    context: { collection: name },
    accept: isIndexNotFound,
  });
  const indexed = new Set((described.index_descriptions ?? []).map((index) => index.field_name));
  const wanted: Array<{ field: string; params: Record<string, unknown> }> = [
    { field: fields.dense, params: denseIndex },
    // Milvus's BM25 function output is searched with its own metric.
    { field: fields.bm25, params: { ...sparseIndex, ...(milvusBm25 ? { metric_type: 'BM25' } : {}) } },
    ...scalarIndexedFields.map((field) => ({ field, params: scalarIndex })),
    ...(space.hasSparse ? [{ field: fields.sparse, params: sparseIndex }] : []),
  ];
  // Milvus Lite: creating an index that already exists is an error (standalone accepts an identical
  // one), so only missing indexes are created.
  for (const { field, params } of wanted) {
    if (indexed.has(field)) continue;
    await call('createIndex', () =>
      client.createIndex({ collection_name: name, field_name: field, index_name: field, ...params }),
    );
  }
}

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
