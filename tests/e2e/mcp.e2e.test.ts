import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { type ServiceProcess, startService } from '@rag/testing/service-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * MCP at /mcp as agents use it: the official TypeScript SDK client and the official Python `mcp` client,
 * against two gateway processes (stateless: any replica answers any request), with keys of several roles
 * and scopes. Every tool goes through the same guards as its REST route.
 */

const repoRoot = findRepoRoot();
let stack: Stack;
let modelDir: string;
let secondGateway: ServiceProcess;
let gateways: string[];
const keys: Record<'admin' | 'editor' | 'scopedReader', string> = { admin: '', editor: '', scopedReader: '' };
let handbookDoc: string;
let secretDoc: string;

async function connect(key: string): Promise<Client> {
  let turn = 0;
  // Alternate between the two gateways on every request, as a load balancer may.
  const roundRobin: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    const target = new URL(gateways[turn++ % gateways.length]!);
    url.host = target.host;
    return fetch(url, init);
  };
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateways[0]}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
      fetch: roundRobin,
    }),
  );
  return client;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

async function addReady(collection: string, body: Record<string, unknown>): Promise<string> {
  const accepted = await stack.call('POST', `/v1/collections/${collection}/documents`, {
    key: keys.admin,
    body,
  });
  expect(accepted.status).toBe(202);
  expect((await stack.waitForStatus(accepted.body.id, keys.admin, ['ready', 'failed'])).status).toBe('ready');
  return accepted.body.id;
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir });
  expect((await stack.call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  const key = async (body: Record<string, unknown>) =>
    (await stack.call('POST', '/v1/api-keys', { body: { tenant: 'acme', ...body } })).body.key as string;
  keys.admin = await key({ role: 'admin' });
  keys.editor = await key({ role: 'editor' });
  keys.scopedReader = await key({ role: 'reader', collections: ['handbook'] });
  for (const name of ['handbook', 'secret'])
    expect((await stack.call('POST', '/v1/collections', { key: keys.admin, body: { name } })).status).toBe(
      201,
    );
  handbookDoc = await addReady('handbook', {
    external_id: 'travel-policy',
    title: 'Travel policy',
    text: 'Book flights and hotels through the corporate travel tool at least fourteen days ahead.',
  });
  secretDoc = await addReady('secret', {
    external_id: 'merger',
    title: 'Merger plan',
    text: 'The merger talks with the supplier start in the spring; book flights for the negotiators.',
  });
  const gateway = stack.services.at(-1)!;
  secondGateway = await startService({
    app: 'gateway',
    repoRoot,
    port: await freePort(),
    env: stack.serviceEnv('gateway'),
  });
  gateways = [gateway.url, secondGateway.url];
});

afterAll(async () => {
  await secondGateway?.stop();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('MCP on the gateway', () => {
  it('offers each credential the tools its role allows, and search finds a document with citation fields', async () => {
    const reader = await connect(keys.scopedReader);
    const readerTools = (await reader.listTools()).tools.map((tool) => tool.name).sort();
    expect(readerTools).toEqual(['document_status', 'get_document', 'list_collections', 'search']);
    const search = (await reader.listTools()).tools.find((tool) => tool.name === 'search');
    expect(search?.outputSchema?.properties).toHaveProperty('results');

    const found = (await reader.callTool({
      name: 'search',
      arguments: { collection: 'handbook', query: 'book flights and hotels', top_k: 3 },
    })) as CallToolResult;
    expect(found.isError).toBeFalsy();
    const results = (found.structuredContent as { results: Array<Record<string, unknown>> }).results;
    expect(results[0]).toMatchObject({
      document_id: handbookDoc,
      external_id: 'travel-policy',
      title: 'Travel policy',
      heading_path: [],
      page: null,
    });
    expect(textOf(found)).toContain('Travel policy — travel-policy');
    expect(textOf(found)).toContain('fourteen days');

    const editorTools = (await (await connect(keys.editor)).listTools()).tools.map((tool) => tool.name);
    expect(editorTools).toContain('add_document');
  });

  it("a scoped key cannot reach another collection's documents, and is told which collections it can use", async () => {
    const reader = await connect(keys.scopedReader);
    const refused = (await reader.callTool({
      name: 'search',
      arguments: { collection: 'secret', query: 'merger talks' },
    })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/not_found/);
    expect(textOf(refused)).toContain('Collections this credential can use: handbook');
    expect(textOf(refused)).not.toContain('merger');

    const hidden = (await reader.callTool({
      name: 'get_document',
      arguments: { id: secretDoc },
    })) as CallToolResult;
    expect(hidden.isError).toBe(true);
    expect(textOf(hidden)).not.toContain('Merger plan');
    const listed = (await reader.callTool({ name: 'list_collections', arguments: {} })) as CallToolResult;
    expect(listed.structuredContent).toMatchObject({ collections: [{ name: 'handbook' }] });
  });

  it("another tenant's key and an ACL-limited key see nothing they may not, through every tool", async () => {
    expect((await stack.call('POST', '/v1/tenants', { body: { id: 'globex' } })).status).toBe(201);
    const globex = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'globex', role: 'admin' } });
    const other = await connect(globex.body.key);
    for (const call of [
      { name: 'get_document', arguments: { id: handbookDoc } },
      { name: 'document_status', arguments: { id: handbookDoc } },
      { name: 'search', arguments: { collection: 'handbook', query: 'book flights' } },
      { name: 'add_document', arguments: { collection: 'handbook', text: 'Written from another tenant.' } },
    ]) {
      const answer = (await other.callTool(call)) as CallToolResult;
      expect({ tool: call.name, isError: answer.isError }).toEqual({ tool: call.name, isError: true });
      expect(textOf(answer)).not.toContain('Travel policy');
    }

    const shared = await addReady('handbook', {
      external_id: 'board-minutes',
      title: 'Board minutes',
      text: 'The board approved the travel budget for the flights of the sales team.',
      acl: ['group:board'],
    });
    const limited = await stack.call('POST', '/v1/api-keys', {
      body: { tenant: 'acme', role: 'editor', principals: ['group:sales'] },
    });
    const outsider = await connect(limited.body.key);
    const found = (await outsider.callTool({
      name: 'search',
      arguments: { collection: 'handbook', query: 'board approved travel budget flights', top_k: 10 },
    })) as CallToolResult;
    expect(found.isError).toBeFalsy();
    const ids = (found.structuredContent as { results: Array<{ document_id: string }> }).results.map(
      (r) => r.document_id,
    );
    expect(ids).not.toContain(shared);
    const opened = (await outsider.callTool({
      name: 'get_document',
      arguments: { id: shared },
    })) as CallToolResult;
    expect(opened.isError).toBe(true);
    expect(textOf(opened)).not.toContain('Board minutes');
    // Writing over the hidden document's external_id learns nothing and changes nothing.
    const overwrite = (await outsider.callTool({
      name: 'add_document',
      arguments: { collection: 'handbook', external_id: 'board-minutes', text: 'Replaced.' },
    })) as CallToolResult;
    expect(overwrite.isError).toBe(true);
    expect(textOf(overwrite)).not.toContain(shared);
    const { rows } = await stack.db.query('SELECT version FROM documents WHERE id = $1', [shared]);
    expect(rows).toEqual([{ version: 1 }]);
  });

  it('a reader cannot add documents; an editor can, and the document becomes ready', async () => {
    const reader = await connect(keys.scopedReader);
    const denied = (await reader.callTool({
      name: 'add_document',
      arguments: { collection: 'handbook', text: 'Injected text.' },
    })) as CallToolResult;
    expect(denied.isError).toBe(true);
    const { rows } = await stack.db.query('SELECT count(*)::int AS n FROM documents WHERE title IS NULL');
    expect(rows[0].n).toBe(0);

    const editor = await connect(keys.editor);
    const added = (await editor.callTool({
      name: 'add_document',
      arguments: {
        collection: 'handbook',
        external_id: 'parking',
        title: 'Parking',
        text: 'Visitors park on level minus two and register their plate at reception.',
      },
    })) as CallToolResult;
    expect(added.isError).toBeFalsy();
    const id = (added.structuredContent as { id: string }).id;
    expect((await stack.waitForStatus(id, keys.editor, ['ready', 'failed'])).status).toBe('ready');
    const status = (await editor.callTool({ name: 'document_status', arguments: { id } })) as CallToolResult;
    expect(status.structuredContent).toMatchObject({ id, status: 'ready', version: 1 });
  });

  it('get_document opens a hit: its metadata and its chunks, which REST pages through as well', async () => {
    const reader = await connect(keys.scopedReader);
    const opened = (await reader.callTool({
      name: 'get_document',
      arguments: { id: handbookDoc },
    })) as CallToolResult;
    expect(opened.isError).toBeFalsy();
    expect(opened.structuredContent).toMatchObject({
      id: handbookDoc,
      title: 'Travel policy',
      chunks: [{ position: 0, text: expect.stringContaining('fourteen days'), heading_path: [] }],
    });
    const page = await stack.call('GET', `/v1/documents/${handbookDoc}/chunks?limit=1`, {
      key: keys.scopedReader,
    });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ chunks: [{ position: 0 }], next_cursor: null });
    for (const query of ['limit=1000', 'cursor=', 'cursor=-1', 'cursor=1.5']) {
      const bad = await stack.call('GET', `/v1/documents/${handbookDoc}/chunks?${query}`, {
        key: keys.scopedReader,
      });
      expect({ query, status: bad.status }).toEqual({ query, status: 422 });
    }
  });

  it('bad arguments are tool errors and the session goes on', async () => {
    const reader = await connect(keys.scopedReader);
    const negative = (await reader.callTool({
      name: 'search',
      arguments: { collection: 'handbook', query: 'flights', top_k: -1 },
    })) as CallToolResult;
    expect(negative.isError).toBe(true);
    expect(textOf(negative)).toMatch(/top_k/);
    const unknown = (await reader.callTool({
      name: 'get_document',
      arguments: { id: 'nope' },
    })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    const after = (await reader.callTool({
      name: 'search',
      arguments: { collection: 'handbook', query: 'book flights', top_k: 1 },
    })) as CallToolResult;
    expect(after.isError).toBeFalsy();
  });

  it('answers without a credential with 401, and GET with 405', async () => {
    const anonymous = await fetch(`${gateways[0]}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anonymous.status).toBe(401);
    expect(
      (await fetch(`${gateways[0]}/mcp`, { headers: { authorization: `Bearer ${keys.admin}` } })).status,
    ).toBe(405);
  });

  it('the official Python MCP client finds the collection it may use and is refused the other', async () => {
    const python = join(repoRoot, '.venv', 'python-client', 'bin', 'python');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        python,
        [
          join(repoRoot, 'tests', 'e2e', 'mcp-python-client.py'),
          `${gateways[1]}/mcp`,
          keys.scopedReader,
          'handbook',
          'secret',
          'book flights and hotels',
        ],
        { timeout: 60_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const run = JSON.parse(output);
    expect(run.tools).toEqual(['document_status', 'get_document', 'list_collections', 'search']);
    expect(run.found.is_error).toBe(false);
    expect(run.found.structured.results[0].external_id).toBe('travel-policy');
    expect(run.refused.is_error).toBe(true);
    expect(run.refused.text).toContain('Collections this credential can use: handbook');
  });

  it('`rag mcp` serves the same tools over stdio for desktop agents, with the same limits', async () => {
    const client = new Client({ name: 'desktop-agent', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [join(repoRoot, 'packages', 'cli', 'dist', 'cli.js'), 'mcp'],
        env: { PATH: process.env.PATH ?? '', RAG_URL: gateways[0]!, RAG_API_KEY: keys.scopedReader },
      }),
    );
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('search');
      const found = (await client.callTool({
        name: 'search',
        arguments: { collection: 'handbook', query: 'book flights and hotels', top_k: 1 },
      })) as CallToolResult;
      expect(
        (found.structuredContent as { results: Array<{ external_id: string }> }).results[0]?.external_id,
      ).toBe('travel-policy');
      const refused = (await client.callTool({
        name: 'search',
        arguments: { collection: 'secret', query: 'merger' },
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
