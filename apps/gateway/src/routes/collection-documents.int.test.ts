import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

/**
 * A collection's document list (newest first, by cursor, filtered) and its summary, as a caller with an
 * ACL-limited key and an unrestricted one see them.
 */

let gateway: TestGateway;
let admin: string;
let hrReader: string;
const ids: Record<string, string> = {};

type Listed = {
  documents: { id: string; external_id: string; status: string; acl: string[] | null }[];
  next_cursor: string | null;
};

beforeAll(async () => {
  gateway = await startTestGateway({ tenants: ['acme'] });
  const key = async (body: Record<string, unknown>) =>
    String((await gateway.call('POST', '/v1/api-keys', { body: { tenant: 'acme', ...body } })).body.key);
  admin = await key({ role: 'admin' });
  hrReader = await key({ role: 'reader', principals: ['group:hr'] });
  expect(
    (await gateway.call('POST', '/v1/collections', { key: admin, body: { name: 'handbook' } })).status,
  ).toBe(201);
  // Added one after another, so each is newer than the one before.
  for (const [externalId, acl] of [
    ['policy/travel', undefined],
    ['policy/leave', ['group:hr']],
    ['policy/salaries', ['group:finance']],
    ['faq/100%_remote', undefined],
    ['faq/parking', undefined],
  ] as const) {
    const answer = await gateway.call('POST', '/v1/collections/handbook/documents', {
      key: admin,
      body: { external_id: externalId, text: `About ${externalId}.`, ...(acl ? { acl } : {}) },
    });
    expect(answer.status).toBe(202);
    ids[externalId] = String(answer.body.id);
  }
  await gateway.db.pool.query(`UPDATE documents SET status = 'failed', error = 'parse error' WHERE id = $1`, [
    ids['faq/parking'],
  ]);
});

afterAll(async () => {
  await gateway?.close();
});

async function list(query: string, key = admin): Promise<Listed> {
  const answer = await gateway.call('GET', `/v1/collections/handbook/documents${query}`, { key });
  expect(answer.status).toBe(200);
  return answer.body as unknown as Listed;
}

describe('GET /v1/collections/{name}/documents', () => {
  it('pages newest first by cursor, each document once', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page: Listed = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.documents.map((d) => d.external_id));
      cursor = page.next_cursor;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([
      'faq/parking',
      'faq/100%_remote',
      'policy/salaries',
      'policy/leave',
      'policy/travel',
    ]);
  });

  it('filters by status and by a literal external_id prefix', async () => {
    expect((await list('?status=failed')).documents.map((d) => d.external_id)).toEqual(['faq/parking']);
    expect((await list('?status=queued,failed')).documents).toHaveLength(5);
    expect((await list('?external_id_prefix=policy/')).documents.map((d) => d.external_id)).toEqual([
      'policy/salaries',
      'policy/leave',
      'policy/travel',
    ]);
    // % and _ are matched as themselves, not as LIKE wildcards.
    expect((await list('?external_id_prefix=faq%2F100%25_')).documents.map((d) => d.external_id)).toEqual([
      'faq/100%_remote',
    ]);
    expect((await list('?external_id_prefix=faq%2F1%25')).documents).toEqual([]);
  });

  it('shows an ACL-limited key only the documents shared with it, and each document with its ACL', async () => {
    const page = await list('', hrReader);
    expect(page.documents.map((d) => [d.external_id, d.acl])).toEqual([
      ['faq/parking', null],
      ['faq/100%_remote', null],
      ['policy/leave', ['group:hr']],
      ['policy/travel', null],
    ]);
  });

  it('refuses a bad status, limit or cursor with a 422 naming it', async () => {
    for (const [query, named] of [
      ['?status=done', 'status'],
      ['?limit=0', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?external_id_prefix=a%00b', 'external_id_prefix'],
    ]) {
      const answer = await gateway.call('GET', `/v1/collections/handbook/documents${query}`, { key: admin });
      expect(answer.status).toBe(422);
      expect(String(answer.body.detail)).toContain(named);
    }
  });
});

describe('GET /v1/collections/{name}', () => {
  it('counts documents by status and dates the last change, for what the caller may see', async () => {
    const all = await gateway.call('GET', '/v1/collections/handbook', { key: admin });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({
      name: 'handbook',
      documents: { total: 5, queued: 4, failed: 1, ready: 0, processing: 0, deleting: 0 },
      chunks: 0,
    });
    expect(Date.parse(String(all.body.last_changed_at))).toBeGreaterThanOrEqual(
      Date.parse(String(all.body.created_at)),
    );
    const hr = await gateway.call('GET', '/v1/collections/handbook', { key: hrReader });
    expect(hr.body).toMatchObject({ documents: { total: 4, queued: 3, failed: 1 } });
  });

  it('answers 404 for a collection that does not exist', async () => {
    expect((await gateway.call('GET', '/v1/collections/nothing', { key: admin })).status).toBe(404);
  });
});
