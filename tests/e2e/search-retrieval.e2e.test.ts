import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * Search through the gateway with the generated BGE-M3-shaped model (dense, sparse and ColBERT heads): every
 * mode, BM25 statistics, filters, pages, the answer cache, and above all that no mode, filter or page ever
 * shows a caller another tenant's document or one its principals may not see.
 */

let stack: Stack;
let modelDir: string;
let call: Stack['call'];

const modes = [
  { mode: 'dense' },
  { mode: 'sparse' },
  { mode: 'bm25' },
  { mode: 'hybrid' },
  { mode: 'hybrid', fusion: 'rrf' },
  { mode: 'hybrid', rerank: 'colbert' },
] as const;

const topics = ['budget', 'travel', 'office', 'holiday', 'printer', 'security', 'laptop', 'parking'];

let acmeAdmin: string;
let bob: string; // acme reader acting as user:bob
let finance: string; // acme reader in group:finance
let globexAdmin: string;
const ids: Record<string, string> = {};
const owners: Record<string, string> = {};

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-search-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir, gatewayEnv: { INGEST_BACKOFF_MS: '200' } });
  ({ call } = stack);

  for (const tenant of ['acme', 'globex']) {
    expect((await call('POST', '/v1/tenants', { body: { id: tenant } })).status).toBe(201);
  }
  const key = async (body: Json) => (await call('POST', '/v1/api-keys', { body })).body.key as string;
  acmeAdmin = await key({ tenant: 'acme', role: 'admin' });
  globexAdmin = await key({ tenant: 'globex', role: 'admin' });
  bob = await key({ tenant: 'acme', role: 'reader', principals: ['user:bob'] });
  finance = await key({ tenant: 'acme', role: 'reader', principals: ['group:finance'] });
  for (const admin of [acmeAdmin, globexAdmin]) {
    expect((await call('POST', '/v1/collections', { key: admin, body: { name: 'kb' } })).status).toBe(201);
    expect((await call('POST', '/v1/collections', { key: admin, body: { name: 'empty' } })).status).toBe(201);
  }

  const post = async (admin: string, name: string, body: Json) => {
    const answer = await call('POST', '/v1/collections/kb/documents', {
      key: admin,
      body: { external_id: name, ...body },
    });
    expect(answer.status).toBe(202);
    ids[name] = answer.body.id;
    owners[name] = admin;
  };
  for (const [index, topic] of topics.entries()) {
    await post(acmeAdmin, `acme-${topic}`, {
      text: `The ${topic} policy explains how the ${topic} process works for every team member.`,
      metadata: { topic, year: 2018 + index, lang: index % 2 === 0 ? 'en' : 'de' },
    });
  }
  // The same words in places bob must never see: a finance-only document and another tenant's.
  const secret = 'The secret budget forecast and salary budget for the finance team.';
  await post(acmeAdmin, 'acme-secret', {
    text: secret,
    acl: ['group:finance'],
    metadata: { topic: 'budget', year: 2024 },
  });
  await post(globexAdmin, 'globex-secret', { text: secret, metadata: { topic: 'budget', year: 2024 } });
  for (const [name, id] of Object.entries(ids)) await stack.waitForStatus(id, owners[name], ['ready']);
});

afterAll(async () => {
  await stack?.stop();
  if (modelDir) await rm(modelDir, { recursive: true, force: true });
});

async function search(key: string, body: Json) {
  return call('POST', '/v1/search', { key, body: { collection: 'kb', ...body } });
}

/** Every page of a search, following next_cursor. */
async function allPages(key: string, body: Json): Promise<Json[]> {
  const results: Json[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await search(key, { ...body, ...(cursor ? { cursor } : {}) });
    expect(answer.status).toBe(200);
    results.push(...answer.body.results);
    cursor = answer.body.next_cursor ?? undefined;
    if (!cursor) return results;
  }
  throw new Error('pages never ended');
}

describe('visibility', () => {
  it.each(modes)(
    '%o never shows bob a finance-only or another tenant’s document, on any page or filter',
    async (settings) => {
      const filters = [undefined, { field: 'topic', eq: 'budget' }, { not: { field: 'year', lt: 2000 } }];
      for (const filter of filters) {
        const results = await allPages(bob, {
          query: 'secret budget forecast',
          top_k: 4,
          ...settings,
          ...(filter ? { filter } : {}),
        });
        const seen = results.map((r) => r.external_id);
        expect(seen).not.toContain('acme-secret');
        expect(seen).not.toContain('globex-secret');
        expect(results.every((r) => r.document_id !== ids['globex-secret'])).toBe(true);
      }
      const forFinance = (await search(finance, { query: 'secret budget forecast', top_k: 10, ...settings }))
        .body.results;
      expect(forFinance.map((r: Json) => r.external_id)).toContain('acme-secret');
      expect(forFinance.map((r: Json) => r.external_id)).not.toContain('globex-secret');
    },
  );

  it('answers another tenant’s collection name with its own collection only', async () => {
    const results = await allPages(globexAdmin, { query: 'budget policy', top_k: 5, mode: 'bm25' });
    expect(results.map((r) => r.external_id)).toEqual(['globex-secret']);
  });
});

describe('modes and scores', () => {
  it('names the signals used and gives each signal’s score', async () => {
    const hybrid = await search(acmeAdmin, { query: 'printer policy', top_k: 3 });
    expect(hybrid.status).toBe(200);
    expect(hybrid.body.signals).toEqual(['dense', 'sparse', 'bm25']);
    expect(hybrid.body.fusion).toBe('weighted');
    expect(hybrid.body.results[0].external_id).toBe('acme-printer');
    expect(Object.keys(hybrid.body.results[0].scores).sort()).toEqual(['bm25', 'dense', 'sparse']);

    const bm25 = await search(acmeAdmin, { query: 'printer', top_k: 3, mode: 'bm25' });
    expect(bm25.body.signals).toEqual(['bm25']);
    const top = bm25.body.results[0];
    expect(top.external_id).toBe('acme-printer');
    expect(top.scores.bm25).toBeGreaterThan(bm25.body.results[1]?.scores.bm25 ?? 0);
    expect(top.highlights.map((h: Json) => top.text.slice(h.start, h.end).toLowerCase())).toEqual([
      'printer',
      'printer',
    ]);

    const reranked = await search(acmeAdmin, { query: 'printer policy', top_k: 3, rerank: 'colbert' });
    expect(reranked.body.signals).toEqual(['dense', 'sparse', 'bm25', 'colbert']);
    expect(reranked.body.results[0].scores.colbert).toEqual(expect.any(Number));
  });

  it('takes caller weights: all weight on BM25 ranks as BM25 does', async () => {
    const weighted = await search(acmeAdmin, { query: 'laptop', top_k: 1, weights: { bm25: 1 } });
    expect(weighted.body.weights).toEqual({ dense: 0, sparse: 0, bm25: 1 });
    expect(weighted.body.results[0].external_id).toBe('acme-laptop');
  });
});

describe('filters', () => {
  it('applies equals, in, range, exists and boolean combinations inside the search', async () => {
    const names = async (filter: Json) =>
      (await allPages(acmeAdmin, { query: 'policy process', top_k: 5, mode: 'dense', filter }))
        .map((r) => r.external_id)
        .sort();
    expect(await names({ field: 'lang', eq: 'de' })).toEqual([
      'acme-holiday',
      'acme-parking',
      'acme-security',
      'acme-travel',
    ]);
    expect(await names({ field: 'topic', in: ['office', 'printer'] })).toEqual([
      'acme-office',
      'acme-printer',
    ]);
    expect(
      await names({ and: [{ field: 'year', gte: 2020, lt: 2022 }, { not: { field: 'lang', eq: 'de' } }] }),
    ).toEqual(['acme-office']);
    expect(
      await names({
        or: [
          { field: 'topic', eq: 'parking' },
          { field: 'year', gt: 2023 },
        ],
      }),
    ).toEqual(['acme-laptop', 'acme-parking', 'acme-secret']);
    expect(await names({ field: 'lang', exists: false })).toEqual(['acme-secret']);
  });

  it.each([
    ['quotes', 'budget" || tenant_id != "x'],
    ['backslashes', 'budget\\" || true || \\"'],
    ['operators', ') or (1 == 1'],
    ['SQL', "budget' OR '1'='1"],
    ['unicode', '予算 🚀 ü'],
  ])('treats hostile %s as a plain value', async (_name, value) => {
    for (const settings of modes) {
      const answer = await search(bob, {
        query: 'budget',
        top_k: 10,
        ...settings,
        filter: { field: 'topic', eq: value },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.results).toEqual([]);
    }
  });

  it.each([
    ['a null byte', { field: 'topic', eq: 'a\u0000b' }, /filter/],
    ['a key outside the alphabet', { field: 'topic"]', eq: 'x' }, /filter/],
    ['an unknown operator', { field: 'topic', like: 'b%' }, /filter/],
    ['deep nesting', nest({ field: 'topic', eq: 'x' }, 30), /nest/],
    ['too many values', { field: 'topic', in: Array.from({ length: 101 }, (_, i) => `t${i}`) }, /filter/],
    [
      'too many conditions',
      { or: Array.from({ length: 70 }, (_, i) => ({ field: 'year', eq: i })) },
      /conditions/,
    ],
    ['mixed range bounds', { field: 'year', gte: 1, lt: 'z' }, /filter/],
  ])('refuses %s with a 422 naming the problem', async (_name, filter, message) => {
    const answer = await search(bob, { query: 'budget', filter });
    expect(answer.status).toBe(422);
    expect(JSON.stringify(answer.body)).toMatch(message);
  });
});

function nest(leaf: Json, depth: number): Json {
  let node = leaf;
  for (let i = 0; i < depth; i++) node = { not: node };
  return node;
}

describe('pages', () => {
  it.each(modes)('%o: pages neither overlap nor skip, and match one long page', async (settings) => {
    const body = { query: 'policy team process', ...settings };
    const paged = await allPages(acmeAdmin, { ...body, top_k: 3 });
    const whole = (await search(acmeAdmin, { ...body, top_k: 100 })).body.results;
    expect(paged.map((r) => r.chunk_id)).toEqual(whole.map((r: Json) => r.chunk_id));
    expect(new Set(paged.map((r) => r.chunk_id)).size).toBe(paged.length);
  });

  it('groups by document and pages by offset too', async () => {
    const first = await search(acmeAdmin, { query: 'policy', top_k: 2, offset: 0, group_by_document: true });
    const second = await search(acmeAdmin, { query: 'policy', top_k: 2, offset: 2, group_by_document: true });
    const documents = [...first.body.results, ...second.body.results].map((r: Json) => r.document_id);
    expect(new Set(documents).size).toBe(4);
  });

  it('refuses a cursor from before a write to the collection with 409', async () => {
    const first = await search(acmeAdmin, { query: 'policy', top_k: 2 });
    const added = await call('POST', '/v1/collections/kb/documents', {
      key: acmeAdmin,
      body: { external_id: 'acme-late', text: 'A late policy about the coffee machine.' },
    });
    await stack.waitForStatus(added.body.id, acmeAdmin, ['ready']);
    const stale = await search(acmeAdmin, { query: 'policy', top_k: 2, cursor: first.body.next_cursor });
    expect(stale.status).toBe(409);
    expect((await search(acmeAdmin, { query: 'policy', cursor: 'not-a-cursor' })).status).toBe(400);
  });
});

describe('cache', () => {
  it('serves a repeated search from the cache until a write changes the collection', async () => {
    const body = { query: 'umbrella rules', top_k: 5, mode: 'bm25' };
    const before = await search(acmeAdmin, body);
    expect(before.body.results.map((r: Json) => r.external_id)).not.toContain('acme-umbrella');
    const repeated = await fetch(`${stack.services.at(-1)!.url}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acmeAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ collection: 'kb', ...body }),
    });
    expect(repeated.headers.get('server-timing')).toMatch(/cache;desc=hit/);
    // The search service's stages as it reported them (db included), then the gateway's own.
    const stages = (repeated.headers.get('server-timing') ?? '')
      .split(',')
      .map((p) => p.split(';')[0]?.trim());
    expect(stages).toEqual(['embed', 'milvus', 'db', 'rerank', 'search', 'cache', 'gateway']);

    const added = await call('POST', '/v1/collections/kb/documents', {
      key: acmeAdmin,
      body: { external_id: 'acme-umbrella', text: 'Umbrella rules: umbrellas stay in the umbrella stand.' },
    });
    await stack.waitForStatus(added.body.id, acmeAdmin, ['ready']);
    const after = await search(acmeAdmin, body);
    expect(after.body.results[0].external_id).toBe('acme-umbrella');

    expect((await call('DELETE', `/v1/documents/${added.body.id}`, { key: acmeAdmin })).status).toBe(202);
    await stack.waitForStatus(added.body.id, acmeAdmin, ['gone']);
    const gone = await search(acmeAdmin, body);
    expect(gone.body.results.map((r: Json) => r.external_id)).not.toContain('acme-umbrella');
  });
});

describe('limits and empty collections', () => {
  it('answers an empty collection with no results in every mode', async () => {
    for (const settings of modes) {
      const answer = await call('POST', '/v1/search', {
        key: acmeAdmin,
        body: { collection: 'empty', query: 'anything at all', ...settings },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.results).toEqual([]);
      expect(answer.body.next_cursor).toBeNull();
    }
  });

  it.each([
    ['top_k above 100', { top_k: 101 }, /top_k/],
    ['top_k of 0', { top_k: 0 }, /top_k/],
    ['a query over 4000 characters', { query: 'a'.repeat(4001) }, /query/],
    ['an empty query', { query: '   ' }, /query/],
    ['a page beyond the result window', { offset: 190, top_k: 20 }, /200/],
    ['offset and cursor together', { offset: 1, cursor: 'x' }, /either offset or cursor/],
    ['a weight above 1', { weights: { dense: 2 } }, /weights/],
    ['an unknown field', { boost: 2 }, /boost/],
  ])('refuses %s with a 422', async (_name, body, message) => {
    const answer = await search(acmeAdmin, { query: 'policy', ...body });
    expect(answer.status).toBe(422);
    expect(JSON.stringify(answer.body)).toMatch(message);
  });
});

describe('titles and headings', () => {
  async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const value = await read();
      if (done(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the search never showed the expected results');
  }

  it('finds a chunk by its document’s title, shows its own text, and follows a new title', async () => {
    expect((await call('POST', '/v1/collections', { key: acmeAdmin, body: { name: 'titled' } })).status).toBe(
      201,
    );
    const text = 'Field notes on nesting birds along the northern cliffs, written every spring.';
    const posted = await call('POST', '/v1/collections/titled/documents', {
      key: acmeAdmin,
      body: { external_id: 'notes', title: 'Kestrel Handbook', text },
    });
    expect(posted.status).toBe(202);
    await stack.waitForStatus(posted.body.id, acmeAdmin, ['ready']);
    const bm25 = (query: string) =>
      call('POST', '/v1/search', { key: acmeAdmin, body: { collection: 'titled', query, mode: 'bm25' } });

    const byTitle = await bm25('kestrel');
    expect(byTitle.body.results.map((r: Json) => r.external_id)).toEqual(['notes']);
    const hit = byTitle.body.results[0];
    expect(hit.title).toBe('Kestrel Handbook');
    expect(hit.text).toBe(text);
    expect(hit.start_offset).toBe(0);
    // The title's word matched, but it is not in the text: nothing in the text to mark.
    expect(hit.highlights).toEqual([]);
    const byText = (await bm25('the cliffs of kestrel')).body.results[0];
    expect(byText.highlights.map((h: Json) => text.slice(h.start, h.end))).toEqual(['cliffs']);

    const patched = await call('PATCH', `/v1/documents/${posted.body.id}`, {
      key: acmeAdmin,
      body: { title: 'Osprey Handbook' },
    });
    expect(patched.status).toBe(200);
    const renamed = await waitFor(
      () => bm25('osprey'),
      (answer) => answer.body.results.length === 1,
    );
    expect(renamed.body.results[0].title).toBe('Osprey Handbook');
    expect((await bm25('kestrel')).body.results).toEqual([]);
  });
});
