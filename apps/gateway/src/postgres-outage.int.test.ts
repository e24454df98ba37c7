import { type PrivatePostgres, startPrivatePostgres } from '@rag/testing/postgres-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * PostgreSQL hung or down under the gateway: requests that need it answer 503 problem+json with Retry-After
 * within the configured timeouts, never 500 and never a wait as long as the outage.
 */
describe('gateway with PostgreSQL hung or down', () => {
  let postgres: PrivatePostgres;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    gateway = await startTestGateway({ postgresUrl: postgres.url });
  }, 60_000);

  afterAll(async () => {
    // The server is gone by now: dropping the schema fails, the folder goes with the cluster.
    await gateway?.close().catch(() => {});
    await postgres?.close();
  });

  async function listCollections() {
    return gateway.call('GET', '/v1/collections');
  }

  it('answers while PostgreSQL is up', async () => {
    expect((await listCollections()).status).toBe(200);
  });

  it('answers 503 with Retry-After while PostgreSQL is hung, then recovers', async () => {
    postgres.pause();
    try {
      const response = await listCollections();
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('dependency_unavailable');
      expect(response.retryAfter).toMatch(/^\d+$/);
    } finally {
      postgres.resume();
    }
    expect((await listCollections()).status).toBe(200);
  }, 30_000);

  it('answers 503 with Retry-After once PostgreSQL is killed', async () => {
    await postgres.kill();
    for (let attempt = 0; attempt < 3; attempt++) {
      // The first request finds the pooled connections dead, the next ones a refused connect.
      const response = await listCollections();
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('dependency_unavailable');
      expect(response.retryAfter).toMatch(/^\d+$/);
    }
  }, 30_000);
});
