import type { Server } from 'node:http';
import { AppError } from '@rag/contracts/app-error';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { createRedisConnection, type RedisConnection } from '@rag/redis/redis-connection';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { redisTopologies, startTestRedis, type TestRedis } from '@rag/testing/test-redis';
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedProxies } from './client-address.js';
import { createRateLimits } from './rate-limits.js';

/**
 * The limiter against a real Redis, under concurrent requests, as the gateway mounts it and connects to Redis:
 * the shared server, and a Redis Cluster of three masters (`REDIS_CLUSTER=true`), where the counters must live
 * in the cluster (not in the in-process fallback a replica uses while Redis is away).
 */
describe.each(redisTopologies)('on a Redis %s', (topology) => {
  let target: TestRedis;
  let redis: RedisConnection;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    target = await startTestRedis(topology, 'ratelimit');
    const prefix = target.settings.keyPrefix;
    redis = createRedisConnection(target.settings, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
    });
    await new Promise((resolve) => redis.once('ready', resolve));
    const limits = createRateLimits({
      redis,
      keyPrefix: prefix,
      perAddressPerMinute: 1000,
      perCredentialPerMinute: 20,
    });
    // Three requests per address, once behind a trusted proxy (this test's loopback peer) and once without.
    const proxied = createRateLimits({
      redis,
      keyPrefix: `${prefix}:proxied`,
      perAddressPerMinute: 3,
      perCredentialPerMinute: 1000,
      trustedProxies: parseTrustedProxies('127.0.0.1/32, ::1/128'),
    });
    const direct = createRateLimits({
      redis,
      keyPrefix: `${prefix}:direct`,
      perAddressPerMinute: 3,
      perCredentialPerMinute: 1000,
    });
    const { app } = createServiceApp({
      logger: createLogger({ service: 'test', level: 'silent' }),
      metrics: createServiceMetrics('test'),
      bodyLimit: '1kb',
      readiness: [],
      routes(router) {
        const ok: RequestHandler = (_req, res) => {
          res.json({ ok: true });
        };
        router.get('/v1/proxied', proxied.byAddress, ok);
        router.get('/v1/direct', direct.byAddress, ok);
        router.get(
          '/v1/ping',
          limits.byAddress,
          (req, _res, next) => {
            const key = req.get('x-key');
            if (!key) throw new AppError('unauthenticated', 'no key');
            req.principal = {
              tenantId: 't',
              role: 'reader',
              collections: null,
              system: false,
              keyId: key,
              subject: null,
              principals: null,
            };
            next();
          },
          limits.byCredential,
          ok,
        );
      },
    });
    server = await listen(app, '127.0.0.1', 0);
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    if (server) await closeServer(server, 1000);
    redis?.disconnect();
    await target?.stop();
  });

  const ping = (key: string) => fetch(`${base}/v1/ping`, { headers: { 'x-key': key } });

  describe('rate limits', () => {
    it('let exactly the limit through under 50 concurrent requests, counted in Redis, then answer 429 with Retry-After', async () => {
      const responses = await Promise.all(Array.from({ length: 50 }, () => ping('key-a')));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      expect(statuses.filter((s) => s === 429)).toHaveLength(30);
      const limited = responses.find((r) => r.status === 429)!;
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.headers.get('ratelimit-limit')).toBe('20');
      expect(limited.headers.get('ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await limited.json()).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(await redis.get(`${target.settings.keyPrefix}:ratelimit:credential:key-a`)).toBe('50');
    });

    it('count each credential on its own', async () => {
      const response = await ping('key-b');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-remaining')).toBe('19');
    });
  });

  const from = (path: string, forwardedFor: string) =>
    fetch(`${base}${path}`, { headers: { 'x-forwarded-for': forwardedFor } });

  describe('per-address rate limit behind proxies', () => {
    it('gives each client behind a trusted proxy its own bucket, keyed by the address the proxy saw', async () => {
      for (let i = 0; i < 3; i += 1) expect((await from('/v1/proxied', '198.51.100.1')).status).toBe(200);
      expect((await from('/v1/proxied', '198.51.100.1')).status).toBe(429);
      // Addresses the client prepends itself do not move it to a fresh bucket.
      expect((await from('/v1/proxied', '203.0.113.50, 198.51.100.1')).status).toBe(429);
      const other = await from('/v1/proxied', '198.51.100.2');
      expect(other.status).toBe(200);
      expect(other.headers.get('ratelimit-remaining')).toBe('2');
    });

    it('keeps one bucket per socket peer when X-Forwarded-For comes from an untrusted peer', async () => {
      const statuses = [];
      for (const spoofed of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'])
        statuses.push((await from('/v1/direct', spoofed)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    });
  });
});
