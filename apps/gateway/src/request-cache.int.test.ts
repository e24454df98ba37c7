import type { StoredKey } from '@rag/auth/authenticate';
import type { Collection } from '@rag/db/collection-repository';
import { type PrivateRedis, startPrivateRedis } from '@rag/testing/redis-server';
import { uniqueTestPrefix } from '@rag/testing/test-database';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestCache } from './request-cache.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * The gateway's cache of keys and collections on the real Redis: two caches on one prefix are two gateway
 * replicas. A revocation on one holds on the other at once; Redis unreachable means no caching at all.
 */
let redis: Redis;
beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(() => {
  redis?.disconnect();
});

const storedKey: StoredKey = {
  id: '00000000-0000-4000-8000-000000000001',
  tenantId: 'acme',
  role: 'reader',
  collections: null,
  principals: null,
  expiresAt: null,
};

/** A key store as PostgreSQL would answer, counting its reads. */
function keyTable() {
  const table = { revoked: false, reads: 0 };
  return Object.assign(table, {
    load: async () => {
      table.reads++;
      return table.revoked ? undefined : storedKey;
    },
  });
}

describe('gateway request cache', () => {
  it('serves a verified key without PostgreSQL until a revocation on any replica, which holds at once', async () => {
    const keyPrefix = uniqueTestPrefix('cache');
    const replicaA = createRequestCache({ redis, keyPrefix, ttlMs: 60_000 });
    const replicaB = createRequestCache({ redis, keyPrefix, ttlMs: 60_000 });
    const table = keyTable();
    expect(await replicaA.key('h', table.load)).toEqual(storedKey);
    expect(await replicaB.key('h', table.load)).toEqual(storedKey);
    expect(await replicaA.key('h', table.load)).toEqual(storedKey);
    expect(await replicaB.key('h', table.load)).toEqual(storedKey);
    expect(table.reads).toBe(2);

    table.revoked = true;
    await replicaA.invalidate();
    expect(await replicaB.key('h', table.load)).toBeUndefined();
    expect(await replicaA.key('h', table.load)).toBeUndefined();
    // Unknown and revoked keys are never cached: each try reads PostgreSQL.
    expect(await replicaB.key('h', table.load)).toBeUndefined();
    expect(table.reads).toBe(5);
    await redis.del(`${keyPrefix}:gateway:cache-epoch`);
  });

  it('checks a request against the epoch read when it arrived, once for all its lookups', async () => {
    const keyPrefix = uniqueTestPrefix('cache');
    const replicaA = createRequestCache({ redis, keyPrefix, ttlMs: 60_000 });
    const replicaB = createRequestCache({ redis, keyPrefix, ttlMs: 60_000 });
    const table = keyTable();
    await replicaA.key('h', table.load);
    const inRequest = (work: () => Promise<unknown>) =>
      new Promise((resolve, reject) => replicaA.scope(() => void work().then(resolve, reject)));
    // A request that arrived before the revocation finishes as it began...
    const before = inRequest(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return replicaA.key('h', table.load);
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    table.revoked = true;
    await replicaB.invalidate();
    expect(await before).toEqual(storedKey);
    // ...and every request that arrives after it is refused.
    expect(await inRequest(() => replicaA.key('h', table.load))).toBeUndefined();
    await redis.del(`${keyPrefix}:gateway:cache-epoch`);
  });

  it('drops everything when Redis lost its epoch, and ends entries at their TTL or the key expiry', async () => {
    const keyPrefix = uniqueTestPrefix('cache');
    let clock = 1_000_000;
    const cache = createRequestCache({ redis, keyPrefix, ttlMs: 10_000, now: () => clock });
    const table = keyTable();
    await cache.key('h', table.load);
    await redis.del(`${keyPrefix}:gateway:cache-epoch`);
    await cache.key('h', table.load);
    expect(table.reads).toBe(2);
    clock += 10_000;
    await cache.key('h', table.load);
    expect(table.reads).toBe(3);

    const expiring = { ...storedKey, expiresAt: new Date(clock + 1_000) };
    let reads = 0;
    const load = async () => {
      reads++;
      return expiring.expiresAt.getTime() > clock ? expiring : undefined;
    };
    expect(await cache.key('e', load)).toEqual(expiring);
    clock += 1_000;
    expect(await cache.key('e', load)).toBeUndefined();
    expect(reads).toBe(2);
    await redis.del(`${keyPrefix}:gateway:cache-epoch`);
  });

  it('keeps a collection until it is being deleted, and never one being deleted', async () => {
    const keyPrefix = uniqueTestPrefix('cache');
    const cache = createRequestCache({ redis, keyPrefix, ttlMs: 60_000 });
    const live: Collection = {
      id: '00000000-0000-4000-8000-00000000000c',
      tenantId: 'acme',
      name: 'docs',
      createdAt: new Date(),
      deleting: false,
    };
    let row: Collection | undefined = live;
    let reads = 0;
    const load = async () => {
      reads++;
      return row;
    };
    await cache.collection('acme', 'docs', load);
    expect(await cache.collection('acme', 'docs', load)).toEqual(live);
    expect(await cache.collection('globex', 'docs', load)).toEqual(live);
    expect(reads).toBe(2);
    row = { ...live, deleting: true };
    await cache.invalidate();
    expect(await cache.collection('acme', 'docs', load)).toMatchObject({ deleting: true });
    expect(await cache.collection('acme', 'docs', load)).toMatchObject({ deleting: true });
    expect(reads).toBe(4);
    await redis.del(`${keyPrefix}:gateway:cache-epoch`);
  });

  describe('while Redis is unreachable', () => {
    let privateRedis: PrivateRedis;
    let client: Redis;
    beforeAll(async () => {
      privateRedis = await startPrivateRedis();
      client = new Redis(privateRedis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      await new Promise((resolve) => client.once('ready', resolve));
    });
    afterAll(async () => {
      client?.disconnect();
      await privateRedis?.stop();
    });

    it('reads PostgreSQL on every lookup, and a revocation answers a retryable 503 until Redis is told', async () => {
      const cache = createRequestCache({ redis: client, keyPrefix: 'outage', ttlMs: 60_000 });
      const table = keyTable();
      await cache.key('h', table.load);
      await privateRedis.stop();
      await cache.key('h', table.load);
      await cache.key('h', table.load);
      expect(table.reads).toBe(3);
      await expect(cache.invalidate()).rejects.toMatchObject({
        code: 'dependency_unavailable',
        retryable: true,
      });
    });
  });
});

describe('revocation through the gateway', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('refuses a key on the request right after its revocation, though it was just used', async () => {
    const created = await gateway.call('POST', '/v1/api-keys', {
      body: { tenant: 'default', role: 'reader' },
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    for (let i = 0; i < 3; i++) {
      expect((await gateway.call('GET', '/v1/collections', { key })).status).toBe(200);
    }
    expect((await gateway.call('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    const refused = await gateway.call('GET', '/v1/collections', { key });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/revoked/);
  });

  it('a collection deleted and made again under its name is the new one at once', async () => {
    expect((await gateway.call('POST', '/v1/collections', { body: { name: 'again' } })).status).toBe(201);
    const first = await gateway.call('POST', '/v1/search', { body: { collection: 'again', query: 'x' } });
    // No search service runs here: reaching it (503) shows the collection was found.
    expect(first.status).toBe(503);
    expect((await gateway.call('DELETE', '/v1/collections/again')).status).toBe(202);
    const gone = await gateway.call('POST', '/v1/search', { body: { collection: 'again', query: 'x' } });
    expect(gone.status).toBe(404);
  });
});
