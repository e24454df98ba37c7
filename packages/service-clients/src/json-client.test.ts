import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createJsonClient } from './json-client.js';

/**
 * A server that resets the connection of every other request, as a restarting service does to requests
 * that arrive on a keep-alive connection it is closing.
 */
let server: Server;
let base: string;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (requests % 2 === 1) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const schema = z.object({ ok: z.literal(true) });
const client = () =>
  createJsonClient({ baseUrl: base, service: 'test-service', timeoutMs: 5_000, serviceToken: 'token' });

describe('json client', () => {
  it('sends an idempotent call once more when its connection was reset', async () => {
    requests = 0;
    expect(await client().post('/search', { q: 1 }, schema, { idempotent: true })).toEqual({ ok: true });
    expect(requests).toBe(2);
  });

  it('never repeats a call that is not idempotent', async () => {
    requests = 0;
    await expect(client().post('/create', { q: 1 }, schema)).rejects.toMatchObject({
      code: 'dependency_unavailable',
      retryable: true,
    });
    expect(requests).toBe(1);
  });
});

describe('json client errors', () => {
  let answering: Server;
  let url: string;

  beforeAll(async () => {
    answering = createServer((req, res) => {
      if (req.url === '/problem') {
        res.writeHead(422, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ code: 'validation_failed', detail: 'mode "sparse" needs a sparse head' }));
      } else {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<pre>Cannot POST /internal/v1/nowhere</pre>');
      }
    });
    await new Promise<void>((resolve) => answering.listen(0, '127.0.0.1', resolve));
    const address = answering.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => answering.close(resolve));
  });

  const errorOf = (path: string) =>
    createJsonClient({ baseUrl: url, service: 'search-service', timeoutMs: 5_000, serviceToken: 't' })
      .post(path, {}, schema)
      .catch((error: unknown) => error);

  it("passes a downstream 4xx problem on with its code and detail, not this hop's service and path", async () => {
    expect(await errorOf('/problem')).toMatchObject({
      code: 'validation_failed',
      message: 'mode "sparse" needs a sparse head',
    });
  });

  it('treats a 4xx that is not a problem answer as a failure on our side', async () => {
    expect(await errorOf('/nowhere')).toMatchObject({ code: 'internal' });
  });
});

describe('json client connections', () => {
  let quiet: Server;
  let url: string;
  const ports = new Set<number>();

  beforeAll(async () => {
    quiet = createServer((req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      if (req.url === '/hang') return; // never answers
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', resolve));
    const address = quiet.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    quiet.closeAllConnections();
    await new Promise((resolve) => quiet.close(resolve));
  });

  it('sends one call after another over one kept-alive connection', async () => {
    const client = createJsonClient({
      baseUrl: url,
      service: 'search-service',
      timeoutMs: 5_000,
      serviceToken: 't',
    });
    ports.clear();
    for (let i = 0; i < 5; i++) expect(await client.post('/search', { i }, schema)).toEqual({ ok: true });
    expect(ports.size).toBe(1);
  });

  it('gives up on a service that does not answer within its timeout', async () => {
    const client = createJsonClient({
      baseUrl: url,
      service: 'search-service',
      timeoutMs: 200,
      serviceToken: 't',
    });
    await expect(client.get('/hang', schema)).rejects.toMatchObject({
      code: 'timeout',
      retryable: true,
      message: 'search-service did not answer within 200 ms',
    });
  });
});
