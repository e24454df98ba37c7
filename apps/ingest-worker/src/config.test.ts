import { ConfigError } from '@rag/config/parse-config';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { SERVICE_TOKEN: 's'.repeat(32), RAG_BASE_DIR: '/srv/rag' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('ingest worker config', () => {
  it('starts on local defaults, with a longer query bound than an API request', () => {
    const config = loadConfig(base);
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8083 });
    expect(config.postgres.queryTimeoutMs).toBe(120_000);
    expect(config.worker.concurrency).toBe(16);
    expect(config.webhooks).toMatchObject({ allowedHosts: [], allowPrivate: false, attempts: 10 });
    expect(config.storage).toEqual({ driver: 'local', root: '/srv/rag/.data/storage' });
    expect(config.reindex).toEqual({ keepOldSeconds: 3600, batchDocuments: 64 });
  });

  it('lists unreadable secrets, the storage one included, with every other problem', () => {
    const problems = problemsOf({
      ...base,
      SERVICE_TOKEN: '',
      SERVICE_TOKEN_FILE: '/nonexistent/service-token',
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'rag',
      S3_SECRET_ACCESS_KEY: 'key',
      S3_SECRET_ACCESS_KEY_FILE: '/run/secrets/s3',
      WEBHOOK_SECRET_KEY_FILE: '/nonexistent/webhook-key',
      WORKER_CONCURRENCY: '0',
      DATABASE_QUERY_TIMEOUT_MS: '10',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^SERVICE_TOKEN_FILE \(serviceToken\): cannot read \/nonexistent\/service-token/),
      expect.stringMatching(/^WEBHOOK_SECRET_KEY_FILE \(webhooks\.secretKeys\): cannot read /),
      'S3_SECRET_ACCESS_KEY (storage): S3_SECRET_ACCESS_KEY_FILE is set too; set only one',
      expect.stringMatching(/^DATABASE_QUERY_TIMEOUT_MS \(postgres\.queryTimeoutMs\): /),
      expect.stringMatching(/^WORKER_CONCURRENCY \(worker\.concurrency\): /),
    ]);
  });
});
