import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-program.js';

interface Request {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown> | undefined;
}

type Answer = { status: number; body: unknown };

/** Runs the CLI in-process against a fake gateway that answers with `route`. */
async function rag(
  argv: string[],
  route: (request: Request) => Answer = () => ({ status: 500, body: {} }),
  env: Record<string, string> = { RAG_API_KEY: 'rag_test' },
) {
  const requests: Request[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const headers = init?.headers as Record<string, string>;
    const request: Request = {
      method: init?.method ?? 'GET',
      url: String(input),
      authorization: headers.authorization,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : await uploadOf(String(input), init),
    };
    requests.push(request);
    const answer = route(request);
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(argv, { stdout: stdout.stream, stderr: stderr.stream, env, fetch });
  return { code, requests, stdout: stdout.text(), stderr: stderr.text() };
}

/** A multipart upload as the fields of its `document` part plus the file's name and text. */
async function uploadOf(url: string, init: RequestInit | undefined) {
  if (init?.body === undefined || init.body === null) return undefined;
  const form = await new globalThis.Request(url, init).formData();
  const file = form.get('file') as File;
  return {
    ...JSON.parse(String(form.get('document') ?? '{}')),
    file: file.name,
    text: await file.text(),
  };
}

function collector() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += String(chunk);
      callback();
    },
  });
  return { stream, text: () => text };
}

const now = '2025-01-01T00:00:00.000Z';
const docId = '3f1c2b9e-8d4a-4c6b-9f1e-2a3b4c5d6e7f';

describe('global options', () => {
  it('takes the gateway and key from the environment, and flags over it', async () => {
    const route = () => ({
      status: 200,
      body: { collections: [{ name: 'docs', created_at: now, model: null, model_manifest_hash: null }] },
    });
    const fromEnv = await rag(['collections', 'list'], route, {
      RAG_URL: 'http://env.test:1/',
      RAG_API_KEY: 'rag_env',
    });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toBe(`docs\t${now}\n`);
    expect(fromEnv.requests[0]).toMatchObject({
      url: 'http://env.test:1/v1/collections',
      authorization: 'Bearer rag_env',
    });
    const fromFlags = await rag(
      ['--url', 'http://flag.test', 'collections', 'list', '--key', 'rag_flag'],
      route,
      { RAG_URL: 'http://env.test', RAG_API_KEY: 'rag_env' },
    );
    expect(fromFlags.requests[0]).toMatchObject({
      url: 'http://flag.test/v1/collections',
      authorization: 'Bearer rag_flag',
    });
  });

  it('defaults to the local gateway', async () => {
    const { requests } = await rag(['collections', 'list'], () => ({
      status: 200,
      body: { collections: [] },
    }));
    expect(requests[0]?.url).toBe('http://127.0.0.1:8080/v1/collections');
  });

  it('is a usage error without a key', async () => {
    const { code, stderr, requests } = await rag(['collections', 'list'], undefined, {});
    expect(code).toBe(2);
    expect(stderr).toContain('pass --key or set RAG_API_KEY');
    expect(requests).toHaveLength(0);
  });

  it('prints help with exit code 0, and an unknown command is a usage error', async () => {
    const help = await rag(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('ingest');
    const unknown = await rag(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('rag search', () => {
  const answer = {
    results: [
      {
        document_id: docId,
        external_id: 'guides/travel.md',
        chunk_id: 'c1',
        score: 0.03278,
        title: 'Travel',
        text: `Book   flights\nearly. ${'x'.repeat(300)}`,
        highlights: [],
        metadata: {},
        page: 2,
        heading_path: ['Guides', 'Travel'],
        start_offset: 120,
        end_offset: 440,
      },
      {
        document_id: docId,
        external_id: 'guides/visa.md',
        chunk_id: 'c2',
        score: 0.01,
        title: null,
        text: 'Visas take weeks.',
        highlights: [],
        metadata: {},
        page: null,
        heading_path: [],
        start_offset: 0,
        end_offset: 17,
      },
    ],
    signals: ['dense', 'sparse'],
    took_ms: 4,
  };

  it('sends the query, collection, top-k and mode, and prints ranked results', async () => {
    const { code, stdout, requests } = await rag(
      ['search', 'booking flights', '--collection', 'handbook', '--top-k', '3', '--mode', 'dense'],
      () => ({ status: 200, body: answer }),
    );
    expect(code).toBe(0);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: 'http://127.0.0.1:8080/v1/search',
      body: { collection: 'handbook', query: 'booking flights', top_k: 3, mode: 'dense' },
    });
    const [first, second, third, fourth] = stdout.split('\n');
    expect(first).toBe('1. 0.0328  guides/travel.md  Travel  (p. 2, Guides > Travel)');
    expect(second).toMatch(/^ {3}Book flights early\. x+…$/);
    expect(second).toHaveLength(3 + 200 + 1);
    expect(third).toBe('2. 0.0100  guides/visa.md');
    expect(fourth).toBe('   Visas take weeks.');
  });

  it('defaults to 5 results in hybrid mode and prints raw JSON with --json', async () => {
    const { stdout, requests } = await rag(['search', 'q', '-c', 'handbook', '--json'], () => ({
      status: 200,
      body: answer,
    }));
    expect(requests[0]?.body).toEqual({ collection: 'handbook', query: 'q', top_k: 5, mode: 'hybrid' });
    expect(JSON.parse(stdout)).toEqual(answer);
  });

  it.each([
    [['search', 'q', '--collection', 'c', '--top-k', '0']],
    [['search', 'q', '--collection', 'c', '--top-k', 'many']],
    [['search', 'q', '--collection', 'c', '--mode', 'fuzzy']],
    [['search', 'q']],
    [['search', '--collection', 'c']],
  ])('rejects %j as a usage error without calling the API', async (argv) => {
    const { code, requests } = await rag(argv);
    expect(code).toBe(2);
    expect(requests).toHaveLength(0);
  });
});

describe('rag doc', () => {
  const document = {
    id: docId,
    external_id: 'a.md',
    title: 'A',
    status: 'ready',
    chunks: 1,
    version: 1,
    content_hash: 'abc',
    metadata: {},
    created_at: now,
    updated_at: now,
  };

  it('prints the status as JSON', async () => {
    const { code, stdout, requests } = await rag(['doc', docId], () => ({ status: 200, body: document }));
    expect(code).toBe(0);
    expect(requests[0]).toMatchObject({ method: 'GET', url: `http://127.0.0.1:8080/v1/documents/${docId}` });
    expect(JSON.parse(stdout)).toEqual(document);
  });

  it('deletes', async () => {
    const { code, stdout, requests } = await rag(['doc', 'delete', docId], () => ({
      status: 202,
      body: { id: docId, status: 'deleting', status_url: `/v1/documents/${docId}` },
    }));
    expect(code).toBe(0);
    expect(requests[0]?.method).toBe('DELETE');
    expect(stdout).toBe(`deleting document ${docId}\n`);
    expect((await rag(['doc', 'delete'])).code).toBe(2);
  });

  it('prints the problem detail and request id of a failure, with exit code 1', async () => {
    const { code, stderr } = await rag(['doc', docId], () => ({
      status: 404,
      body: {
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: `Document ${docId} not found`,
        code: 'not_found',
        request_id: 'req-42',
      },
    }));
    expect(code).toBe(1);
    expect(stderr).toBe(`error (404 not_found): Document ${docId} not found\nrequest id: req-42\n`);
  });

  it('reports an unreachable gateway with exit code 1', async () => {
    const { code, stderr } = await runCliAgainst('http://127.0.0.1:1', ['doc', docId]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error \(network\): GET \/v1\/documents\/.* cannot reach http:\/\/127\.0\.0\.1:1/,
    );
  });
});

async function runCliAgainst(url: string, argv: string[]) {
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(argv, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: { RAG_URL: url, RAG_API_KEY: 'k' },
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('rag keys', () => {
  const info = {
    id: 'key-1',
    name: null,
    prefix: 'rag_abcdefgh',
    tenant: 'acme',
    role: 'editor',
    collections: ['a', 'b'],
    principals: ['user:alice'],
    expires_at: '2030-01-01T00:00:00.000Z',
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };

  it('creates a key from the flags and prints only the key on stdout', async () => {
    const { code, stdout, stderr, requests } = await rag(
      [
        'keys',
        'create',
        '--tenant',
        'acme',
        '--role',
        'editor',
        '--collections',
        'a, b',
        '--principals',
        'user:alice',
        '--expires-at',
        '2030-01-01T00:00:00Z',
      ],
      () => ({ status: 201, body: { ...info, key: 'rag_abcdefgh_secret' } }),
    );
    expect(code).toBe(0);
    expect(requests[0]?.body).toEqual({
      tenant: 'acme',
      role: 'editor',
      collections: ['a', 'b'],
      principals: ['user:alice'],
      expires_at: '2030-01-01T00:00:00Z',
    });
    expect(stdout).toBe('rag_abcdefgh_secret\n');
    expect(stderr).toContain('created key key-1');
  });

  it('needs a tenant and a known role', async () => {
    expect((await rag(['keys', 'create', '--role', 'editor'])).code).toBe(2);
    expect((await rag(['keys', 'create', '--tenant', 'acme', '--role', 'owner'])).code).toBe(2);
  });

  it('lists keys of a tenant as a table and revokes one', async () => {
    const list = await rag(['keys', 'list', '--tenant', 'acme'], () => ({
      status: 200,
      body: { keys: [info] },
    }));
    expect(list.requests[0]?.url).toBe('http://127.0.0.1:8080/v1/api-keys?tenant=acme');
    expect(list.stdout.split('\n')[0]).toMatch(
      /^ID\s+PREFIX\s+TENANT\s+ROLE\s+COLLECTIONS\s+EXPIRES\s+REVOKED/,
    );
    expect(list.stdout.split('\n')[1]).toMatch(/^key-1\s+rag_abcdefgh\s+acme\s+editor\s+a,b\s+2030-/);
    const revoke = await rag(['keys', 'revoke', 'key-1'], () => ({
      status: 200,
      body: { id: 'key-1', revoked_at: now },
    }));
    expect(revoke.requests[0]).toMatchObject({
      method: 'DELETE',
      url: 'http://127.0.0.1:8080/v1/api-keys/key-1',
    });
    expect(revoke.stdout).toBe(`revoked key key-1 at ${now}\n`);
  });
});

describe('rag ingest', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'rag-ingest-'));
    await mkdir(join(folder, 'guides'));
    await writeFile(join(folder, 'guides', 'travel.md'), '# Travel policy\n\nBook flights early.');
    await writeFile(join(folder, 'notes.txt'), 'Some notes.');
    await writeFile(join(folder, 'broken.txt'), 'This one fails to index.');
    await writeFile(join(folder, 'empty.md'), '');
    await writeFile(join(folder, 'logo.png'), Buffer.from([0x89, 0x50, 0, 0]));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  /** A gateway where notes.txt is already there and broken.txt fails in the worker. */
  function gateway(request: Request): Answer {
    if (request.method === 'GET' && request.url.endsWith('/v1/collections')) {
      return {
        status: 200,
        body: {
          collections: [{ name: 'handbook', created_at: now, model: null, model_manifest_hash: null }],
        },
      };
    }
    const externalId = String(request.body?.external_id ?? '');
    const id = `00000000-0000-4000-8000-00000000000${['broken.txt', 'guides/travel.md', 'notes.txt'].indexOf(externalId) + 1}`;
    if (request.method === 'POST') {
      const unchanged = externalId === 'notes.txt';
      return {
        status: unchanged ? 200 : 202,
        body: { id, version: 1, status: unchanged ? 'ready' : 'queued', status_url: `/v1/documents/${id}` },
      };
    }
    const failed = request.url.endsWith('1');
    return {
      status: 200,
      body: {
        id: request.url.split('/').at(-1),
        external_id: null,
        title: null,
        status: failed ? 'failed' : 'ready',
        ...(failed ? { error: 'model error' } : {}),
        chunks: 1,
        version: 1,
        content_hash: 'h',
        metadata: {},
        created_at: now,
        updated_at: now,
      },
    };
  }

  it('uploads each file with its relative path as external id, waits, and reports failures with exit code 1', async () => {
    const { code, stdout, stderr, requests } = await rag(
      ['ingest', folder, '--collection', 'handbook', '--wait', '--concurrency', '2'],
      gateway,
    );
    const posts = requests.filter((r) => r.method === 'POST').map((r) => r.body);
    expect(posts).toEqual([
      { external_id: 'broken.txt', file: 'broken.txt', text: 'This one fails to index.' },
      {
        external_id: 'guides/travel.md',
        file: 'travel.md',
        text: '# Travel policy\n\nBook flights early.',
      },
      { external_id: 'notes.txt', file: 'notes.txt', text: 'Some notes.' },
    ]);
    expect(requests[1]?.url).toBe('http://127.0.0.1:8080/v1/collections/handbook/documents');
    expect(stderr).toContain('skipped empty.md: empty file');
    expect(stderr).toMatch(/skipped logo\.png: binary content of an unknown type/);
    expect(stdout).toBe(
      '5 files: 2 queued, 1 unchanged, 2 skipped\n2 ready, 1 failed\n  failed broken.txt: model error\n',
    );
    expect(code).toBe(1);
  });

  it('only uploads the asked extensions, and does not poll without --wait', async () => {
    const { code, stdout, requests } = await rag(
      ['ingest', folder, '--collection', 'handbook', '--ext', 'md'],
      gateway,
    );
    expect(requests.filter((r) => r.method === 'POST').map((r) => r.body?.external_id)).toEqual([
      'guides/travel.md',
    ]);
    expect(requests.filter((r) => r.url.includes('/v1/documents/'))).toHaveLength(0);
    expect(stdout).toBe('2 files: 1 queued, 0 unchanged, 1 skipped\n');
    expect(code).toBe(0);
  });

  it('lists with --dry-run what it would send and what it would skip, and sends nothing', async () => {
    const { code, stdout, requests } = await rag(
      ['ingest', folder, '--collection', 'handbook', '--dry-run'],
      gateway,
    );
    expect(requests).toHaveLength(0);
    expect(stdout.split('\n')).toEqual([
      'send  broken.txt  plain (utf-8), 24 B',
      'skip  empty.md  empty file',
      'send  guides/travel.md  markdown (utf-8), 36 B',
      'skip  logo.png  binary content of an unknown type (not a supported document format)',
      'send  notes.txt  plain (utf-8), 11 B',
      '5 files: 3 would be sent, 2 skipped',
      '',
    ]);
    expect(code).toBe(0);
  });

  it('stops before uploading when the collection is missing or the folder is not one', async () => {
    const missing = await rag(['ingest', folder, '--collection', 'nope'], gateway);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('rag collections create nope');
    expect(missing.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    const notAFolder = await rag(['ingest', join(folder, 'notes.txt'), '--collection', 'handbook'], gateway);
    expect(notAFolder.code).toBe(2);
  });
});
