import type { Server } from 'node:http';
import type { Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteCall } from './mcp-tools.js';
import { createRouteDispatch, isRouteCall } from './route-dispatcher.js';

const alice: Principal = {
  tenantId: 'acme',
  role: 'reader',
  collections: null,
  system: false,
  keyId: 'key-1',
  subject: null,
  principals: ['group:sales'],
};

let server: Server;
let base: string;
const guardRuns: string[] = [];

beforeAll(async () => {
  const { app } = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '1kb',
    readiness: [],
    routes(router) {
      const calls = createRouteDispatch(router);
      // Stands in for authentication: refuses every HTTP request that is not a route call.
      const guard: RequestHandler = (req, _res, next) => {
        guardRuns.push(req.path);
        next(new AppError('unauthenticated', 'no credential'));
      };
      router.use('/v1', calls.unlessRouteCall(guard));
      router.get('/v1/echo', (req, res) => {
        res.json({
          routeCall: isRouteCall(req),
          principal: req.principal ?? null,
          query: req.query,
          id: req.id,
          address: req.socket.remoteAddress,
        });
      });
      router.post('/v1/echo', (req, res) => {
        res.status(201).json({ body: req.body, type: req.get('content-type') });
      });
      router.get('/v1/parts', (_req, res) => {
        res.type('application/json');
        res.write('{"a":');
        res.write(Buffer.from('[1,2'));
        res.end(',3]}');
      });
      router.get('/v1/missing', () => {
        throw new AppError('not_found', 'No such thing');
      });
      // The MCP request: authenticated as alice, it makes the route call given in its body.
      router.post('/mcp', async (req, res) => {
        req.principal = alice;
        res.json(await calls.dispatch(req.body as RouteCall, req));
      });
    },
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await closeServer(server, 1000);
});

async function viaMcp(call: RouteCall): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'mcp-request' },
    body: JSON.stringify(call),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { status: number; body: Record<string, unknown> };
}

describe('route calls of MCP tools', () => {
  it('run down the app in process as the MCP request’s principal, with its address and a derived request id', async () => {
    const answer = await viaMcp({ method: 'GET', path: '/v1/echo?limit=5' });
    expect(answer).toEqual({
      status: 200,
      body: {
        routeCall: true,
        principal: alice,
        query: { limit: '5' },
        id: expect.stringMatching(/^mcp-request\.\d+$/),
        address: expect.stringMatching(/127\.0\.0\.1$/),
      },
    });
  });

  it('carry a JSON body and return the status the route answers', async () => {
    const answer = await viaMcp({ method: 'POST', path: '/v1/echo', body: { query: 'flights', top_k: 3 } });
    expect(answer).toEqual({
      status: 201,
      body: { body: { query: 'flights', top_k: 3 }, type: 'application/json' },
    });
  });

  it('collect a response written in parts, and answer errors as problem documents', async () => {
    expect(await viaMcp({ method: 'GET', path: '/v1/parts' })).toEqual({
      status: 200,
      body: { a: [1, 2, 3] },
    });
    const missing = await viaMcp({ method: 'GET', path: '/v1/missing' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'not_found', detail: 'No such thing' });
    const unknown = await viaMcp({ method: 'GET', path: '/v1/nothing-here' });
    expect(unknown.status).toBe(404);
  });

  it('skip what unlessRouteCall wraps only for route calls: an HTTP request meets it', async () => {
    guardRuns.length = 0;
    await viaMcp({ method: 'GET', path: '/v1/echo' });
    expect(guardRuns).toEqual([]);
    const direct = await fetch(`${base}/v1/echo`, { headers: { 'x-rag-mcp-call': 'anything' } });
    expect(direct.status).toBe(401);
    expect(guardRuns).toEqual(['/echo']);
  });
});
