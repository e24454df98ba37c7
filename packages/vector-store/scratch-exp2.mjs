import { MilvusClient, DataType } from '@zilliz/milvus2-sdk-node';
const c = new MilvusClient({ address: '127.0.0.1:19531', logLevel: 'error' });
const log = (l, r) => console.log(l, JSON.stringify(r).slice(0, 400));
const name = 'exp_' + process.argv[2];
log('create', await c.createCollection({ collection_name: name, consistency_level: 'Bounded', fields: [
  { name: 'chunk_id', data_type: DataType.VarChar, is_primary_key: true, max_length: 128 },
  { name: 'tenant_id', data_type: DataType.VarChar, max_length: 128, is_partition_key: true },
  { name: 'dense', data_type: DataType.FloatVector, dim: 4 },
  { name: 'sparse', data_type: DataType.SparseFloatVector },
]}));
log('idx sparse', await c.createIndex({ collection_name: name, field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP' }));
log('listIndexes', await c.listIndexes({ collection_name: name }));
log('describeIndex none', await c.describeIndex({ collection_name: name, field_name: 'dense' }));
log('load no dense idx', await c.loadCollection({ collection_name: name }));
log('idx dense', await c.createIndex({ collection_name: name, field_name: 'dense', index_type: 'HNSW', metric_type: 'IP', params: { M: 16, efConstruction: 200 } }));
log('load', await c.loadCollection({ collection_name: name }));
log('insert empty sparse', await c.insert({ collection_name: name, data: [
  { chunk_id: 'a', tenant_id: 't1', dense: [1,0,0,0], sparse: { indices: [], values: [] } },
]}).catch(e => ['threw', String(e)]));
log('insert missing sparse', await c.insert({ collection_name: name, data: [
  { chunk_id: 'b', tenant_id: 't1', dense: [1,0,0,0] },
]}).catch(e => ['threw', String(e)]));
log('insert wrong dim', await c.insert({ collection_name: name, data: [
  { chunk_id: 'c', tenant_id: 't1', dense: [1,0,0], sparse: {indices:[1], values:[1]} },
]}).catch(e => ['threw', String(e)]));
log('count strong', await c.query({ collection_name: name, filter: 'tenant_id == "t1"', output_fields: ['count(*)'], consistency_level: 'Strong' }));
log('delete strong', await c.delete({ collection_name: name, filter: 'tenant_id == "t1"', consistency_level: 'Strong' }));
log('search ef', await c.search({ collection_name: name, anns_field: 'dense', data: [1,0,0,0], limit: 5, filter: 'tenant_id == "t1"', metric_type: 'IP', params: { ef: 64 }, output_fields: ['chunk_id'] }));
log('search no metric', await c.search({ collection_name: name, anns_field: 'dense', data: [1,0,0,0], limit: 5, output_fields: ['chunk_id'] }));
log('search escaped', await c.query({ collection_name: name, filter: 'tenant_id == "t\\"1"', output_fields: ['count(*)'] }));
log('loadstate', await c.getLoadState({ collection_name: name }));
log('describe', (await c.describeCollection({ collection_name: name })).schema.fields.map(f => [f.name, f.data_type, f.type_params, f.is_partition_key]));
await c.closeConnection();
const d = new MilvusClient({ address: '127.0.0.1:19999', logLevel: 'error', timeout: 3000 });
const t0 = Date.now();
log('dead health', await d.checkHealth().catch(e => ['threw', e?.constructor?.name, String(e), e?.code]));
console.log('ms', Date.now() - t0);
const t1 = Date.now();
log('dead has', await d.hasCollection({ collection_name: 'x' }).catch(e => ['threw', e?.constructor?.name, String(e), e?.code]));
console.log('ms', Date.now() - t1);
await d.closeConnection();
