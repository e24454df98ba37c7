import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway, testAdminKey } from './test-gateway.js';

/** A read-only bind mount of the folder over itself: the disk under object storage remounted read-only. */
function mountReadOnly(dir: string): boolean {
  if (spawnSync('mount', ['--bind', dir, dir]).status !== 0) return false;
  if (spawnSync('mount', ['-o', 'remount,ro,bind', dir]).status === 0) return true;
  spawnSync('umount', [dir]);
  return false;
}

let gateway: TestGateway;
let mounted = false;

beforeAll(async () => {
  gateway = await startTestGateway();
  expect((await gateway.call('POST', '/v1/collections', { body: { name: 'files' } })).status).toBe(201);
  mounted = mountReadOnly(gateway.storageRoot);
});

afterAll(async () => {
  if (mounted) spawnSync('umount', [gateway.storageRoot]);
  await gateway?.close();
});

describe('gateway with read-only object storage', () => {
  it('answers an upload with 503 and Retry-After, not 500', async (context) => {
    // Mounting needs privileges a test machine may not grant.
    if (!mounted) context.skip();
    const form = new FormData();
    form.set('file', new Blob(['plain text to store'], { type: 'text/plain' }), 'notes.txt');
    const response = await fetch(`${gateway.base}/v1/collections/files/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testAdminKey}` },
      body: form,
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await response.json()) as { code: string }).code).toBe('dependency_unavailable');
  });
});
