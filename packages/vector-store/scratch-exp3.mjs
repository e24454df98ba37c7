import { MilvusClient } from '@zilliz/milvus2-sdk-node';

const c = new MilvusClient({ address: '127.0.0.1:19531', logLevel: 'error' });
const log = (l, r) => console.log(l, JSON.stringify(r).slice(0, 400));
log('loadstate', await c.getLoadState({ collection_name: 'exp_three' }));
log(
  'query before load',
  await c.query({ collection_name: 'exp_three', filter: 'tenant_id != ""', output_fields: ['chunk_id'] }),
);
log('load', await c.loadCollection({ collection_name: 'exp_three' }));
log(
  'query',
  await c.query({ collection_name: 'exp_three', filter: 'tenant_id != ""', output_fields: ['chunk_id'] }),
);
log('list', await c.listIndexes({ collection_name: 'exp_three' }));
await c.closeConnection();
