import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalStorage } from './local-storage.js';
import { type S3TestServer, startS3TestServer } from './moto-server.js';
import type { ObjectStorage } from './object-storage.js';
import { createS3Storage } from './s3-storage.js';

let s3Server: S3TestServer;
let localRoot: string;
const stores: Record<string, ObjectStorage> = {};

beforeAll(async () => {
  localRoot = await mkdtemp(join(tmpdir(), 'rag-storage-'));
  stores.local = createLocalStorage({ root: localRoot });
  s3Server = await startS3TestServer();
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const admin = new S3Client({
    endpoint: s3Server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  await admin.send(new CreateBucketCommand({ Bucket: 'documents' }));
  admin.destroy();
  stores.s3 = createS3Storage({
    bucket: 'documents',
    endpoint: s3Server.endpoint,
    region: 'us-east-1',
    ...credentials,
    forcePathStyle: true,
    keyPrefix: 'test/',
  });
});

afterAll(async () => {
  for (const store of Object.values(stores)) await store.close();
  await s3Server?.stop();
  await rm(localRoot, { recursive: true, force: true });
});

function put(store: ObjectStorage, key: string, text: string) {
  const bytes = Buffer.from(text);
  return store.put(key, Readable.from([bytes]), { size: bytes.length, contentType: 'text/plain' });
}

describe.each(['local', 's3'])('%s object storage', (name) => {
  const store = () => stores[name]!;

  it('stores, reads back, lists and deletes objects by key', async () => {
    await put(store(), 'documents/acme/doc-1/v1/report.txt', 'first version');
    await put(store(), 'documents/acme/doc-1/v2/report.txt', 'second version ✓');
    await put(store(), 'documents/acme/doc-2/v1/other.txt', 'other');
    const read = await store().get('documents/acme/doc-1/v2/report.txt', { maxBytes: 1000 });
    expect(Buffer.from(read).toString()).toBe('second version ✓');
    expect(await store().list('documents/acme/doc-1/')).toEqual([
      'documents/acme/doc-1/v1/report.txt',
      'documents/acme/doc-1/v2/report.txt',
    ]);
    await store().delete('documents/acme/doc-1/v1/report.txt');
    await store().delete('documents/acme/doc-1/v1/report.txt');
    expect(await store().list('documents/acme/doc-1/')).toEqual(['documents/acme/doc-1/v2/report.txt']);
  });

  it('refuses an object over the size limit before reading it, and names a missing one', async () => {
    await put(store(), 'big.txt', 'x'.repeat(2000));
    await expect(store().get('big.txt', { maxBytes: 1000 })).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringMatching(/2000 bytes, over 1000/),
    });
    await expect(store().get('missing.txt', { maxBytes: 1000 })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('keeps keys inside the store', async () => {
    for (const key of ['../escape.txt', '/etc/passwd', 'a/../../b', 'a//b']) {
      await expect(put(store(), key, 'x')).rejects.toMatchObject({ code: 'bad_request' });
    }
  });

  it('answers its health check', async () => {
    await expect(store().checkHealth()).resolves.toBeUndefined();
  });
});
