import { MilvusClient, DataType, RRFRanker } from '@zilliz/milvus2-sdk-node';
const c = new MilvusClient({ address: '127.0.0.1:19531', logLevel: 'error' });
const log = (l, r) => console.log(l, JSON.stringify(r).slice(0, 600));
log('health', await c.checkHealth());
const name = 'exp_' + process.argv[2];
log('has', await c.hasCollection({ collection_name: name }));
log('create', await c.createCollection({ collection_name: name, fields: [
  { name: 'chunk_id', data_type: DataType.VarChar, is_primary_key: true, max_length: 128 },
  { name: 'tenant_id', data_type: DataType.VarChar, max_length: 128, is_partition_key: true },
  { name: 'collection_id', data_type: DataType.VarChar, max_length: 128 },
  { name: 'dense', data_type: DataType.FloatVector, dim: 4 },
  { name: 'sparse', data_type: DataType.SparseFloatVector },
]}));
log('create again', await c.createCollection({ collection_name: name, fields: [{ name: 'chunk_id', data_type: DataType.VarChar, is_primary_key: true, max_length: 128 },{ name: 'dense', data_type: DataType.FloatVector, dim: 4 }]}).catch(e => ['threw', e instanceof Error, String(e), e]));
for (const t of [process.argv[3] ?? 'HNSW']) log('idx ' + t, await c.createIndex({ collection_name: name, field_name: 'dense', index_type: t, metric_type: 'IP', params: { M: 16, efConstruction: 200 } }));
log('idx sparse', await c.createIndex({ collection_name: name, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP', params: { inverted_index_algo: 'DAAT_MAXSCORE' } }));
log('idx again', await c.createIndex({ collection_name: name, field_name: 'dense', index_type: 'HNSW', metric_type: 'IP', params: { M: 16, efConstruction: 200 } }));
log('describeIndex', await c.describeIndex({ collection_name: name }));
log('load', await c.loadCollection({ collection_name: name }));
log('loadstate', await c.getLoadState({ collection_name: name }));
log('insert', await c.insert({ collection_name: name, data: [
  { chunk_id: 'a', tenant_id: 't1', collection_id: 'c1', dense: [1,0,0,0], sparse: { indices: [1, 5], values: [0.5, 0.2] } },
  { chunk_id: 'b', tenant_id: 't1', collection_id: 'c1', dense: [0,1,0,0], sparse: { indices: [2], values: [0.9] } },
  { chunk_id: 'c', tenant_id: 't2', collection_id: 'c1', dense: [1,0,0,0], sparse: { indices: [1], values: [0.9] } },
]}));
log('search', await c.search({ collection_name: name, anns_field: 'dense', data: [1,0,0,0], limit: 5, filter: 'tenant_id == "t1"', metric_type: 'IP', output_fields: ['chunk_id'] , params: { ef: 64 }}));
log('search sparse', await c.search({ collection_name: name, anns_field: 'sparse', data: { indices: [1], values: [1] }, limit: 5, filter: 'tenant_id == "t1"', metric_type: 'IP', output_fields: ['chunk_id'] }));
log('hybrid', await c.hybridSearch({ collection_name: name, data: [
  { anns_field: 'dense', data: [0,1,0,0], expr: 'tenant_id == "t1"', params: { metric_type: 'IP', ef: 64 } },
  { anns_field: 'sparse', data: { indices: [1], values: [1] }, expr: 'tenant_id == "t1"', params: { metric_type: 'IP' } },
], rerank: RRFRanker(60), limit: 5, output_fields: ['chunk_id', 'collection_id'] }));
log('count', await c.count({ collection_name: name, expr: 'tenant_id == "t1"' }));
log('query count', await c.query({ collection_name: name, filter: 'tenant_id == "t1"', output_fields: ['count(*)'] }));
log('delete', await c.delete({ collection_name: name, filter: 'chunk_id == "a"' }));
log('query count', await c.query({ collection_name: name, filter: 'tenant_id == "t1"', output_fields: ['count(*)'] }));
log('flush', await c.flush({ collection_names: [name] }));
log('flushSync', await c.flushSync({ collection_names: [name] }));
log('bad filter', await c.query({ collection_name: name, filter: 'tenant_id == ', output_fields: ['count(*)'] }).catch(e => String(e)));
log('missing coll', await c.query({ collection_name: 'nope', filter: 'tenant_id == "x"', output_fields: ['count(*)'] }).catch(e => String(e)));
log('version', await c.getVersion().catch(e => String(e)));
await c.closeConnection();
