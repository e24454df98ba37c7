import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findActiveApiKeyByHash, insertApiKey, listApiKeys, revokeApiKey } from './api-key-repository.js';
import {
  findCollectionById,
  findCollectionByName,
  findDocumentAndCollection,
  insertCollection,
} from './collection-repository.js';
import {
  findDocument,
  insertDocument,
  markDocumentDeleting,
  transitionDocument,
} from './document-repository.js';
import { swapDocumentVersion, upsertDocument } from './document-version.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations.js';
import { findVisibleChunks } from './searchable-chunk-repository.js';
import { insertTenant } from './tenant-repository.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('db', migrate);
  await insertTenant(db.pool, 'acme', 'Acme');
  await insertTenant(db.pool, 'globex', 'Globex');
});
afterAll(async () => {
  await db.drop();
});

describe('migrations', () => {
  it('are idempotent, also when two runners race on an empty schema', async () => {
    const empty = await createTestDatabase('race', async () => {});
    try {
      const results = await Promise.all([
        migrate(empty.pool, empty.schema),
        migrate(empty.pool, empty.schema),
      ]);
      // Whichever runner gets the lock first applies every migration once; the other finds nothing to do.
      const versions = migrations.map((migration) => migration.version).sort((a, b) => a - b);
      expect(results.map((applied) => applied.length).sort((a, b) => a - b)).toEqual([0, versions.length]);
      expect(results.flat().sort((a, b) => a - b)).toEqual(versions);
      expect(await migrate(empty.pool, empty.schema)).toEqual([]);
      expect(await migrate(db.pool, db.schema)).toEqual([]);
    } finally {
      await empty.drop();
    }
  });
});

describe('tenants and keys', () => {
  it('refuses a duplicate tenant without touching the first', async () => {
    expect(await insertTenant(db.pool, 'acme', 'Other name')).toBe(false);
    const { rows } = await db.pool.query('SELECT name FROM tenants WHERE id = $1', ['acme']);
    expect(rows[0].name).toBe('Acme');
  });

  it('finds an active key by hash and not a revoked one', async () => {
    const key = await insertApiKey(db.pool, {
      tenantId: 'acme',
      name: null,
      prefix: 'abc',
      hash: 'hash-1',
      role: 'reader',
      collections: null,
      principals: ['group:staff'],
      expiresAt: null,
    });
    const found = await findActiveApiKeyByHash(db.pool, 'hash-1');
    expect(found).toMatchObject({ id: key.id, principals: ['group:staff'] });
    expect(found?.lastUsedAt).toBeInstanceOf(Date);
    await revokeApiKey(db.pool, key.id);
    expect(await findActiveApiKeyByHash(db.pool, 'hash-1')).toBeUndefined();
    expect((await listApiKeys(db.pool, 'acme')).map((k) => [k.id, k.revokedAt instanceof Date])).toEqual([
      [key.id, true],
    ]);
  });

  it('does not find an expired key', async () => {
    await insertApiKey(db.pool, {
      tenantId: 'acme',
      name: null,
      prefix: 'exp',
      hash: 'hash-expired',
      role: 'admin',
      collections: null,
      principals: null,
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(await findActiveApiKeyByHash(db.pool, 'hash-expired')).toBeUndefined();
  });
});

describe('collections', () => {
  it('record the model they were created on, or none (the default model)', async () => {
    const model = { name: 'multilingual-e5-small-q4', manifestHash: 'f'.repeat(64) };
    const pinned = (await insertCollection(db.pool, 'acme', 'pinned-model', model))!;
    expect(pinned.model).toEqual(model);
    expect((await findCollectionByName(db.pool, 'acme', 'pinned-model'))?.model).toEqual(model);
    const following = (await insertCollection(db.pool, 'acme', 'default-model'))!;
    expect(following.model).toBeUndefined();
    await expect(
      db.pool.query("UPDATE collections SET embedding_manifest_hash = NULL WHERE name = 'pinned-model'"),
    ).rejects.toThrow(/collections_model_named_with_hash/);
  });
});

describe('documents and chunks', () => {
  it('keeps tenants apart, respects status transitions and joins only ready chunks', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'docs'))!;
    expect(await insertCollection(db.pool, 'acme', 'docs')).toBeUndefined();
    const doc = (await insertDocument(db.pool, {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'ext-1',
      title: 'Title',
      contentHash: 'h',
      metadata: { lang: 'en' },
      acl: null,
    }))!;
    expect(doc.status).toBe('queued');
    expect(
      await insertDocument(db.pool, {
        tenantId: 'acme',
        collectionId: collection.id,
        externalId: 'ext-1',
        title: null,
        contentHash: 'other',
        metadata: {},
        acl: null,
      }),
    ).toBeUndefined();
    expect(await findDocument(db.pool, 'globex', doc.id)).toBeUndefined();

    const chunkId = '00000000-0000-4000-8000-000000000001';
    const scope = { tenantId: 'acme', collectionId: collection.id, principals: null };
    expect((await findVisibleChunks(db.pool, scope, [chunkId])).size).toBe(0);

    const swap = await swapDocumentVersion(
      db.pool,
      { id: doc.id, tenantId: 'acme', collectionId: collection.id, version: 1 },
      [
        {
          id: chunkId,
          ordinal: 0,
          text: 'hello world',
          startOffset: 0,
          endOffset: 11,
          page: 2,
          headingPath: ['A', 'B'],
        },
      ],
    );
    expect(swap).toMatchObject({ swapped: true, replacedChunkIds: [], previousVersion: null });
    const joined = await findVisibleChunks(db.pool, scope, [chunkId]);
    expect(joined.get(chunkId)).toMatchObject({
      text: 'hello world',
      externalId: 'ext-1',
      metadata: { lang: 'en' },
      page: 2,
      headingPath: ['A', 'B'],
    });
    expect(await findDocument(db.pool, 'acme', doc.id)).toMatchObject({
      status: 'ready',
      readyVersion: 1,
      chunkCount: 1,
    });
    expect((await findVisibleChunks(db.pool, { ...scope, tenantId: 'globex' }, [chunkId])).size).toBe(0);

    await markDocumentDeleting(db.pool, 'acme', doc.id);
    // A finishing ingest must not resurrect a document that is being deleted.
    expect(await transitionDocument(db.pool, doc.id, 1, ['queued', 'processing'], { status: 'ready' })).toBe(
      false,
    );
    expect((await findDocument(db.pool, 'acme', doc.id))?.status).toBe('deleting');
    expect((await findVisibleChunks(db.pool, scope, [chunkId])).size).toBe(0);
  });

  it('swaps versions atomically: the old chunks join until the commit, the new ones from then on', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'versions'))!;
    const scope = { tenantId: 'acme', collectionId: collection.id, principals: null };
    const base = {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'doc',
      title: null,
      metadata: {},
      acl: null,
      source: { sourceKey: 'uploads/acme/1/a.pdf', mediaType: null, filename: 'a.pdf' },
    };
    const created = await upsertDocument(db.pool, { ...base, contentHash: 'one' });
    expect(created.outcome).toBe('created');
    const id = created.document.id;
    const v1 = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
    await swapDocumentVersion(
      db.pool,
      { ...base, id, version: 1 },
      v1.map((cid, ordinal) => ({ id: cid, ordinal, text: `v1 ${ordinal}`, startOffset: 0, endOffset: 1 })),
    );

    expect(await upsertDocument(db.pool, { ...base, contentHash: 'one' })).toMatchObject({
      outcome: 'unchanged',
      document: { version: 1 },
    });
    const next = await upsertDocument(db.pool, {
      ...base,
      contentHash: 'two',
      source: { ...base.source, sourceKey: 'uploads/acme/2/a.pdf' },
    });
    expect(next).toMatchObject({
      outcome: 'new-version',
      document: { version: 2, status: 'queued', readyVersion: 1 },
      previousSourceKey: 'uploads/acme/1/a.pdf',
    });
    // While version 2 is built, searches still see version 1.
    expect((await findVisibleChunks(db.pool, scope, v1)).size).toBe(2);

    // A job of the superseded version cannot swap.
    expect(await swapDocumentVersion(db.pool, { ...base, id, version: 1 }, [])).toEqual({
      swapped: false,
      reason: 'superseded',
    });
    const v2 = '00000000-0000-4000-8000-00000000000c';
    const swap = await swapDocumentVersion(db.pool, { ...base, id, version: 2 }, [
      { id: v2, ordinal: 0, text: 'v2', startOffset: 0, endOffset: 2 },
    ]);
    expect(swap).toEqual({
      swapped: true,
      replacedChunkIds: v1,
      previousVersion: 1,
      fields: { acl: null, metadata: {} },
    });
    expect([...(await findVisibleChunks(db.pool, scope, [...v1, v2])).keys()]).toEqual([v2]);

    await markDocumentDeleting(db.pool, 'acme', id);
    await expect(upsertDocument(db.pool, { ...base, contentHash: 'three' })).rejects.toMatchObject({
      code: 'conflict',
      retryable: true,
    });
  });

  it('swaps a version in one round trip, with its token ids, places and statistics, and rolls back whole', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'one-trip'))!;
    const doc = (await insertDocument(db.pool, {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'trip',
      title: null,
      contentHash: 'h',
      metadata: { lang: 'ja' },
      acl: ['group:a'],
    }))!;
    const target = { id: doc.id, tenantId: 'acme', collectionId: collection.id, version: 1 };
    const ids = ['00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000d2'];
    // Every statement the swap sends, whether on the pool or on a client taken from it.
    const sent: string[] = [];
    const counting = {
      query: (text: string, values?: unknown[]) => {
        sent.push(text);
        return db.pool.query(text, values);
      },
      connect: async () => {
        const client = await db.pool.connect();
        const query = client.query.bind(client);
        return Object.assign(client, {
          query: (text: string, values?: unknown[]) => {
            sent.push(text);
            return query(text, values);
          },
        });
      },
    } as unknown as typeof db.pool;
    const swap = await swapDocumentVersion(counting, target, [
      { id: ids[0]!, ordinal: 0, text: 'first', startOffset: 0, endOffset: 5, tokenIds: [7, 8, 8], page: 3 },
      { id: ids[1]!, ordinal: 1, text: 'second', startOffset: 6, endOffset: 12, headingPath: ['H1', 'H2'] },
    ]);
    expect(sent).toHaveLength(1);
    expect(swap).toEqual({
      swapped: true,
      replacedChunkIds: [],
      previousVersion: null,
      fields: { acl: ['group:a'], metadata: { lang: 'ja' } },
    });
    const stored = await db.pool.query(
      `SELECT id, ordinal, text, start_offset, end_offset, token_ids, page, heading_path, document_version
         FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
      [doc.id],
    );
    expect(stored.rows).toEqual([
      {
        id: ids[0],
        ordinal: 0,
        text: 'first',
        start_offset: 0,
        end_offset: 5,
        token_ids: [7, 8, 8],
        page: 3,
        heading_path: [],
        document_version: 1,
      },
      {
        id: ids[1],
        ordinal: 1,
        text: 'second',
        start_offset: 6,
        end_offset: 12,
        token_ids: null,
        page: null,
        heading_path: ['H1', 'H2'],
        document_version: 1,
      },
    ]);
    const stats = async () =>
      (
        await db.pool.query(
          `SELECT s.chunk_count::int, s.total_tokens::int,
                  (SELECT json_object_agg(token_id, chunk_frequency) FROM collection_term_stats t
                    WHERE t.collection_id = s.collection_id) AS terms
             FROM collection_index_stats s WHERE s.collection_id = $1`,
          [collection.id],
        )
      ).rows[0];
    expect(await stats()).toEqual({ chunk_count: 1, total_tokens: 3, terms: { 7: 1, 8: 1 } });
    expect(await findDocument(db.pool, 'acme', doc.id)).toMatchObject({
      status: 'ready',
      readyVersion: 1,
      chunkCount: 2,
    });

    // Run again (a job retried after its swap committed): the same rows, the ids it replaced returned.
    const again = await swapDocumentVersion(db.pool, target, [
      { id: ids[0]!, ordinal: 0, text: 'first', startOffset: 0, endOffset: 5, tokenIds: [9] },
    ]);
    expect(again).toMatchObject({ swapped: true, replacedChunkIds: [ids[1]], previousVersion: 1 });
    expect(await stats()).toEqual({ chunk_count: 1, total_tokens: 1, terms: { 9: 1 } });

    // A swap that fails half-way (two chunks at one ordinal) leaves chunks, statistics and status as they were.
    await expect(
      swapDocumentVersion(db.pool, target, [
        { id: ids[0]!, ordinal: 0, text: 'x', startOffset: 0, endOffset: 1, tokenIds: [1] },
        { id: ids[1]!, ordinal: 0, text: 'y', startOffset: 0, endOffset: 1, tokenIds: [2] },
      ]),
    ).rejects.toThrow(/duplicate key/);
    expect(
      (await db.pool.query('SELECT id, text FROM chunks WHERE document_id = $1', [doc.id])).rows,
    ).toEqual([{ id: ids[0], text: 'first' }]);
    expect(await stats()).toEqual({ chunk_count: 1, total_tokens: 1, terms: { 9: 1 } });
    expect(await findDocument(db.pool, 'acme', doc.id)).toMatchObject({ status: 'ready', chunkCount: 1 });

    await markDocumentDeleting(db.pool, 'acme', doc.id);
    expect(await swapDocumentVersion(db.pool, target, [])).toEqual({ swapped: false, reason: 'deleting' });
    expect(
      await swapDocumentVersion(db.pool, { ...target, id: '00000000-0000-4000-8000-0000000000ff' }, []),
    ).toEqual({ swapped: false, reason: 'gone' });
  });

  it('reads a document with its collection in one statement, within the tenant', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'with-model', {
      name: 'e5-small',
      manifestHash: 'abc',
    }))!;
    const doc = (await insertDocument(db.pool, {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'joined',
      title: 'T',
      contentHash: 'h',
      metadata: { k: 1 },
      acl: null,
    }))!;
    const sent: string[] = [];
    const counting = {
      query: (text: string, values?: unknown[]) => {
        sent.push(text);
        return db.pool.query(text, values);
      },
    } as unknown as typeof db.pool;
    const found = await findDocumentAndCollection(counting, 'acme', doc.id);
    expect(sent).toHaveLength(1);
    expect(found).toEqual({
      document: await findDocument(db.pool, 'acme', doc.id),
      collection: await findCollectionById(db.pool, 'acme', collection.id),
    });
    expect(found?.collection).toMatchObject({ name: 'with-model', model: { name: 'e5-small' } });
    expect(await findDocumentAndCollection(db.pool, 'globex', doc.id)).toBeUndefined();
    expect(
      await findDocumentAndCollection(db.pool, 'acme', '00000000-0000-4000-8000-0000000000ee'),
    ).toBeUndefined();
  });

  it('applies another title, metadata or ACL with the same content in place, and moves the index version', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'fields'))!;
    const base = {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'doc',
      title: 'A',
      metadata: { a: 1, b: 2 },
      acl: ['group:x'],
      contentHash: 'one',
      source: { sourceKey: null, mediaType: null, filename: null },
    };
    const created = await upsertDocument(db.pool, base);
    const indexVersion = async () =>
      Number(
        (
          await db.pool.query('SELECT index_version FROM collection_index_stats WHERE collection_id = $1', [
            collection.id,
          ])
        ).rows[0]?.index_version ?? 0,
      );
    const before = await indexVersion();
    // Key order and ACL order are not changes.
    expect(
      await upsertDocument(db.pool, { ...base, metadata: { b: 2, a: 1 }, acl: ['group:x', 'group:x'] }),
    ).toMatchObject({ outcome: 'unchanged' });
    const updated = await upsertDocument(db.pool, { ...base, title: 'B', acl: null });
    expect(updated).toMatchObject({
      outcome: 'fields-updated',
      changed: ['title', 'acl'],
      document: { id: created.document.id, version: 1, title: 'B', acl: null, metadata: { a: 1, b: 2 } },
      previous: { title: 'A', acl: ['group:x'] },
    });
    expect(await indexVersion()).toBeGreaterThan(before);
  });

  it('never reads, changes or names a document the caller may not see', async () => {
    const collection = (await insertCollection(db.pool, 'acme', 'hidden'))!;
    const base = {
      tenantId: 'acme',
      collectionId: collection.id,
      externalId: 'secret',
      title: 'Secret',
      metadata: {},
      acl: ['group:board'],
      contentHash: 'one',
      source: { sourceKey: null, mediaType: null, filename: null },
    };
    const created = await upsertDocument(db.pool, base);
    const canSee = (document: { acl: string[] | null }) => document.acl === null;
    for (const attempt of [base, { ...base, contentHash: 'two' }, { ...base, acl: null }]) {
      const error = await upsertDocument(db.pool, attempt, { canSee }).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ code: 'conflict' });
      expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(created.document.id);
      expect((error as { context: object }).context).toEqual({});
    }
    expect(await findDocument(db.pool, 'acme', created.document.id)).toMatchObject({
      version: 1,
      contentHash: 'one',
      acl: ['group:board'],
    });
  });
});
