import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll } from 'vitest';
import type { ChunkRecord } from './chunk-repository.js';
import { type DocumentRecord, insertDocument } from './document-repository.js';
import { swapDocumentVersion } from './document-version.js';
import { migrate } from './migrate.js';
import type { Pool } from './pool.js';
import { insertTenant } from './tenant-repository.js';

/** Two embedding models for the reindex tests to move collections between. */
export const modelA = { name: 'model-a', manifestHash: 'a'.repeat(64) };
export const modelB = { name: 'model-b', manifestHash: 'b'.repeat(64) };

/** A reindex of a collection of `acme` from model A to model B, as insertReindex takes it. */
export function moveToModelB(collectionId: string) {
  return { collectionId, tenantId: 'acme', from: modelA, to: modelB };
}

/**
 * A fresh migrated database with the tenant `acme` for the tests of one file: made before them, dropped after.
 * Call at the top of the file; `pool` is there once the tests run.
 */
export function useReindexTestDatabase(name: string): { readonly pool: Pool } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(name, migrate);
    await insertTenant(db.pool, 'acme', 'Acme');
  });
  afterAll(() => db?.drop());
  return {
    get pool() {
      if (!db) throw new Error('the test database is made in beforeAll');
      return db.pool;
    },
  };
}

/** A document of `acme` whose version 1 is ready with the given chunks; `tag` is its external id and hash. */
export async function insertReadyDocument(
  db: Pool,
  collectionId: string,
  tag: string,
  chunks: ChunkRecord[],
): Promise<DocumentRecord> {
  const document = (await insertDocument(db, {
    tenantId: 'acme',
    collectionId,
    externalId: tag,
    title: null,
    contentHash: tag,
    metadata: {},
    acl: null,
  }))!;
  await swapDocumentVersion(db, { id: document.id, tenantId: 'acme', collectionId, version: 1 }, chunks);
  return document;
}
