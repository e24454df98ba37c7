import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleStatic } from './console-static.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';

let gateway: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rag-console-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  gateway = await startTestGateway({ consoleDir: dir });
});

afterAll(async () => {
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the web console at /console', () => {
  it('leads / to /console/ and serves index.html without caching, under a same-origin policy', async () => {
    const root = await fetch(`${gateway.base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const index = await fetch(`${gateway.base}/console/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<title>console</title>');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const policy = index.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toContain('upgrade-insecure-requests');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('caches hashed assets for good, answers 404 for what is not there, and needs no credential', async () => {
    const asset = await fetch(`${gateway.base}/console/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${gateway.base}/console/missing.js`)).status).toBe(404);
  });

  it('leaves the API as it was: /v1 still needs a credential', async () => {
    expect((await gateway.call('GET', '/v1/collections', { key: null })).status).toBe(401);
  });
});

describe("the console's config", () => {
  it('offers no issuer sign-in by default', async () => {
    const config = await fetch(`${gateway.base}/console/config.json`);
    expect(config.headers.get('cache-control')).toBe('no-cache');
    expect(await config.json()).toEqual({ oidc: null });
  });

  it("names the issuer, client and scope when set, and opens connect-src to the issuer's origin only", async () => {
    const app = express().use(
      consoleStatic(dir, {
        issuer: 'https://id.example.com/realms/rag',
        clientId: 'rag-console',
        scope: 'openid rag',
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((done) => server.once('listening', done));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await (await fetch(`${base}/console/config.json`)).json()).toEqual({
        oidc: { issuer: 'https://id.example.com/realms/rag', client_id: 'rag-console', scope: 'openid rag' },
      });
      const policy = (await fetch(`${base}/console/`)).headers.get('content-security-policy') ?? '';
      expect(policy).toContain("connect-src 'self' https://id.example.com;");
      expect(policy).toContain("script-src 'self';");
    } finally {
      server.close();
    }
  });
});
