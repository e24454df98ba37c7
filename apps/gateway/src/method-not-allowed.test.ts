import { request, type Server } from 'node:http';
import { closeServer, listen } from '@rag/http/http-server';
import { createServiceApp } from '@rag/http/service-app';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methodNotAllowed } from './method-not-allowed.js';

let server: Server;
let base: string;

beforeAll(async () => {
  const routes = [
    { method: 'get', path: '/v1/things' },
    { method: 'post', path: '/v1/things' },
    { method: 'delete', path: '/v1/things/{id}' },
  ] as const;
  const { app } = createServiceApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics: createServiceMetrics('test'),
    bodyLimit: '1kb',
    readiness: [],
    routes(router) {
      router.get('/v1/things', (_req, res) => void res.json([]));
      router.post('/v1/things', (_req, res) => void res.status(201).json({}));
      router.delete('/v1/things/:id', (_req, res) => void res.json({}));
      router.use(methodNotAllowed(routes));
    },
  });
  server = await listen(app, '127.0.0.1', 0);
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await closeServer(server, 1000);
});

/** node:http rather than fetch, which refuses to send TRACE. */
function send(method: string, path: string) {
  return new Promise<{ status: number; allow: string | undefined; type: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = request(`${base}${path}`, { method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            allow: res.headers.allow,
            type: res.headers['content-type'],
            body,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('methods a known path does not serve', () => {
  it('answer 405 problem+json with the served methods in Allow', async () => {
    for (const method of ['TRACE', 'PUT', 'PATCH', 'DELETE']) {
      const response = await send(method, '/v1/things');
      expect(response.status, method).toBe(405);
      expect(response.allow).toBe('GET, HEAD, OPTIONS, POST');
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    }
  });

  it('match path templates, with or without a trailing slash', async () => {
    for (const path of ['/v1/things/42', '/v1/things/42/']) {
      const response = await send('GET', path);
      expect(response.status, path).toBe(405);
      expect(response.allow).toBe('DELETE, OPTIONS');
    }
  });

  it('leave served methods and unknown paths alone', async () => {
    expect((await send('GET', '/v1/things')).status).toBe(200);
    expect((await send('HEAD', '/v1/things')).status).toBe(200);
    expect((await send('DELETE', '/v1/things/42')).status).toBe(200);
    expect((await send('TRACE', '/v1/nothing')).status).toBe(404);
    expect((await send('GET', '/v1/things/42/parts')).status).toBe(404);
  });
});
