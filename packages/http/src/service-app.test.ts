import type { Server } from 'node:http';
import { AppError } from '@rag/contracts/app-error';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeServer, listen } from './http-server.js';
import { createServiceApp, type Lifecycle, requireJson } from './service-app.js';
import { parseInput } from './validate.js';

let server: Server;
let managementServer: Server;
let base: string;
let managementBase: string;
let lifecycle: Lifecycle;
let dependencyUp = true;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are free-form JSON, checked field by field
type Json = Record<string, any>;

beforeAll(async () => {
  const service = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '1kb',
    readiness: [
      {
        name: 'database',
        check: async () => {
          if (!dependencyUp) throw new Error('connection refused');
        },
      },
    ],
    routes(app) {
      app.post('/echo', requireJson, (req, res) => {
        res.json(parseInput(z.strictObject({ word: z.string().min(1) }), req.body));
      });
      app.get('/boom', () => {
        throw new Error('secret internal detail');
      });
      app.get('/gone', () => {
        throw new AppError('not_found', 'Thing 42 not found');
      });
    },
  });
  lifecycle = service.lifecycle;
  server = await listen(service.app, '127.0.0.1', 0);
  managementServer = await listen(service.management, '127.0.0.1', 0);
  base = urlOf(server);
  managementBase = urlOf(managementServer);
});

afterAll(async () => {
  await closeServer(server, 1000);
  await closeServer(managementServer, 1000);
});

function urlOf(listening: Server): string {
  const address = listening.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function get(path: string, init?: RequestInit, on = base) {
  const response = await fetch(`${on}${path}`, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
}

const post = (body: string, type = 'application/json') =>
  get('/echo', { method: 'POST', body, headers: { 'content-type': type } });

describe('the service HTTP shell', () => {
  it('answers errors as problem+json with the request id it was given', async () => {
    const { status, headers, body } = await get('/gone', { headers: { 'x-request-id': 'req-123' } });
    expect(status).toBe(404);
    expect(headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(headers.get('x-request-id')).toBe('req-123');
    expect(body).toEqual({
      type: 'urn:rag:problem:not_found',
      title: 'Not found',
      status: 404,
      detail: 'Thing 42 not found',
      instance: '/gone',
      code: 'not_found',
      request_id: 'req-123',
    });
  });

  it('replaces a hostile request id with its own', async () => {
    const { headers } = await get('/gone', { headers: { 'x-request-id': '<script>alert(1)</script>' } });
    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('hides the cause of a 5xx from the caller', async () => {
    const { status, body } = await get('/boom');
    expect(status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('secret internal detail');
    expect(body.detail).toContain(body.request_id);
  });

  it('names the problem with a body: malformed, too large, wrong type, invalid field', async () => {
    expect((await post('{"word":')).body).toMatchObject({
      status: 400,
      detail: expect.stringMatching(/^Malformed JSON/),
    });
    expect((await post(JSON.stringify({ word: 'x'.repeat(2000) }))).status).toBe(413);
    expect((await post('word=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    const invalid = await post(JSON.stringify({ word: '' }));
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors).toEqual([{ path: 'word', message: expect.any(String) }]);
    expect((await post(JSON.stringify({ word: 'ok' }))).body).toEqual({ word: 'ok' });
  });

  it('answers unknown routes with a 404 problem', async () => {
    expect((await get('/nowhere')).body).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('turns unready when a dependency fails and as soon as shutdown starts, while staying live', async () => {
    const ready = () => get('/health/ready', undefined, managementBase);
    expect((await ready()).status).toBe(200);
    dependencyUp = false;
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.checks.database).toEqual({ ok: false, error: 'connection refused' });
    dependencyUp = true;
    lifecycle.shuttingDown = true;
    expect((await ready()).status).toBe(503);
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health', undefined, managementBase)).status).toBe(200);
    lifecycle.shuttingDown = false;
  });

  it('keeps readiness (which names failing dependencies) and metrics off the public listener', async () => {
    dependencyUp = false;
    for (const path of ['/health/ready', '/metrics']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(JSON.stringify(response.body)).not.toContain('connection refused');
    }
    dependencyUp = true;
    expect((await get('/echo', undefined, managementBase)).status).toBe(404);
  });

  it('counts requests by route template in Prometheus text', async () => {
    await get('/gone');
    const text = await (await fetch(`${managementBase}/metrics`)).text();
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/gone",status="404",service="test"\} \d+/,
    );
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/gone",status="404"[^}]*\} \d+/);
  });
});
