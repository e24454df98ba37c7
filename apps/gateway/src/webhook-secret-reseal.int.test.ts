import { randomBytes } from 'node:crypto';
import { migrate } from '@rag/db/migrate';
import { findWebhook, upsertWebhook } from '@rag/db/webhook-repository';
import {
  createWebhookSecretCipher,
  parseWebhookSecretKeys,
} from '@rag/ingest-contract/webhook-secret-cipher';
import { createLogger } from '@rag/telemetry/logger';
import { createTestDatabase, type TestDatabase } from '@rag/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resealWebhookSecrets } from './webhook-secret-reseal.js';

/** Key rotation on the real PostgreSQL: stored secrets move to the new key and still open to the same secret. */
let db: TestDatabase;
const logger = createLogger({ service: 'gateway', level: 'silent' });
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

beforeAll(async () => {
  db = await createTestDatabase('reseal', migrate);
  await db.pool.query("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')");
});

afterAll(async () => {
  await db?.drop();
});

describe('resealWebhookSecrets', () => {
  it('seals secrets of an older key and plaintext ones with the current key', async () => {
    const oldKey = key('old');
    const before = createWebhookSecretCipher(parseWebhookSecretKeys(oldKey));
    await upsertWebhook(
      db.pool,
      'acme',
      'https://a.example.com/',
      before.seal('acme', 'acme-secret-0123456789'),
    );
    // A row stored before secrets were encrypted.
    await upsertWebhook(db.pool, 'globex', 'https://g.example.com/', 'globex-secret-0123456789');

    const newKey = key('new');
    const after = createWebhookSecretCipher(parseWebhookSecretKeys(`${newKey},${oldKey}`));
    expect(await resealWebhookSecrets(db.pool, after, logger)).toBe(2);
    expect(await resealWebhookSecrets(db.pool, after, logger)).toBe(0);

    const acme = (await findWebhook(db.pool, 'acme'))!.secret;
    const globex = (await findWebhook(db.pool, 'globex'))!.secret;
    expect(acme).toMatch(/^aesgcm1:new:/);
    expect(globex).toMatch(/^aesgcm1:new:/);
    expect(globex).not.toContain('globex-secret');
    // The old key is no longer needed.
    const newOnly = createWebhookSecretCipher(parseWebhookSecretKeys(newKey));
    expect(newOnly.open('acme', acme)).toBe('acme-secret-0123456789');
    expect(newOnly.open('globex', globex)).toBe('globex-secret-0123456789');
  });
});
