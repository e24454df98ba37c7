import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({ tenants: ['acme'] });
});

afterAll(async () => {
  await gateway?.close();
});

describe('GET /v1/credential', () => {
  it('describes a scoped reader key: tenant, role, collections, principals, expiry', async () => {
    const created = await gateway.call('POST', '/v1/api-keys', {
      body: {
        tenant: 'acme',
        role: 'reader',
        collections: ['handbook'],
        principals: ['group:hr'],
        expires_at: '2099-01-01T00:00:00.000Z',
      },
    });
    const answer = await gateway.call('GET', '/v1/credential', { key: String(created.body.key) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      tenant: 'acme',
      role: 'reader',
      bootstrap: false,
      collections: ['handbook'],
      principals: ['group:hr'],
      key_id: created.body.id,
      subject: `key:${created.body.id}`,
      expires_at: '2099-01-01T00:00:00.000Z',
    });
  });

  it('names the bootstrap admin as such', async () => {
    const answer = await gateway.call('GET', '/v1/credential');
    expect(answer.body).toMatchObject({
      role: 'admin',
      bootstrap: true,
      collections: null,
      principals: null,
    });
  });
});
