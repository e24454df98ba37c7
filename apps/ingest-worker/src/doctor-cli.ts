import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listAllCollections } from '@rag/db/collection-repository';
import { createPool } from '@rag/db/pool';
import { createRedisConnection } from '@rag/redis/redis-connection';
import { createEmbeddingModels } from '@rag/service-clients/embedding-models';
import { createMilvusStore } from '@rag/vector-store/milvus-store';
import { createModelSpaces } from '@rag/vector-store/model-spaces';
import { createCollectionLock } from './collection-lock.js';
import { loadConfig } from './config.js';
import { checkCollection, formatReport } from './doctor.js';
import { reindexCollection } from './reindex.js';
import { checkStatistics, formatStatisticsWarnings } from './statistics-check.js';

/**
 * `pnpm doctor [--repair] [--reindex] [--tenant T] [--collection NAME]`: compares PostgreSQL with Milvus per
 * collection (same environment as the worker); `--reindex` first indexes every document again from the chunk
 * text PostgreSQL keeps (context lines, vectors, BM25 terms of this build: reindex.ts), after warning of stale PostgreSQL planner statistics. Exit code 0 when everything matches (or was repaired), 1 when problems
 * remain, 2 on a usage error.
 */
const usage = 'usage: doctor [--repair] [--reindex] [--tenant TENANT] [--collection NAME] [--env-from FILE]';
let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      repair: { type: 'boolean', default: false },
      reindex: { type: 'boolean', default: false },
      tenant: { type: 'string' },
      collection: { type: 'string' },
      'env-from': { type: 'string' },
    },
  });
}
try {
  args = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  // The settings of a running stack (pnpm start writes .data/local-stack.env); the environment wins.
  const envFile = args.values['env-from'];
  if (envFile !== undefined) {
    // process.loadEnvFile ends the process when the file is missing, so look first. (The option is not
    // called --env-file: Node 20 takes that flag from anywhere on its command line.)
    if (!existsSync(envFile)) throw new Error(`--env-from ${envFile} does not exist (pnpm start writes one)`);
    process.loadEnvFile(envFile);
  }
  config = loadConfig(process.env);
} catch (error) {
  console.error(`doctor: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const pool = createPool({ ...config.postgres, applicationName: 'ingest-doctor' });
const redis = createRedisConnection(config.redis, { maxRetriesPerRequest: 3 });
// Each collection is compared with the vector space of the model it records.
const spaces = createModelSpaces(
  createEmbeddingModels({
    defaultUrl: config.embeddingServiceUrl,
    otherUrls: config.otherEmbeddingServiceUrls,
    serviceToken: config.serviceToken,
  }),
  (space) => createMilvusStore({ ...config.milvus, space }),
);
// Planner statistics first: they need PostgreSQL alone. They are warnings and never change the exit code.
try {
  console.log(formatStatisticsWarnings(await checkStatistics(pool, config.statistics)));
} catch (error) {
  console.error(`doctor: could not read PostgreSQL statistics: ${(error as Error).message}`);
}
try {
  const collections = (await listAllCollections(pool)).filter(
    (c) =>
      (args.values.tenant === undefined || c.tenantId === args.values.tenant) &&
      (args.values.collection === undefined || c.name === args.values.collection),
  );
  const checks = [];
  const common = {
    pool,
    lock: createCollectionLock({
      redis,
      prefix: config.redis.keyPrefix,
      ttlMs: config.worker.collectionLockTtlMs,
    }),
    embedBatchSize: config.worker.embedBatchSize,
  };
  for (const collection of collections) {
    const space = await spaces.forCollection(collection.model, collection.name);
    const deps = { ...common, store: space.store, embeddings: space.model.client };
    if (args.values.reindex) {
      const done = await reindexCollection(deps, collection);
      console.log(
        `reindexed ${collection.tenantId}/${collection.name}: ${done.documents} documents, ${done.chunks} chunks`,
      );
    }
    checks.push(await checkCollection(deps, collection, { repair: args.values.repair }));
  }
  console.log(formatReport(checks));
  const unresolved = checks.some(
    (c) => !c.repaired && c.orphans.length + c.missing.length + c.duplicates.length > 0,
  );
  process.exitCode = unresolved ? 1 : 0;
} catch (error) {
  console.error(`doctor: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await spaces.close();
  await pool.end();
  redis.disconnect();
}
