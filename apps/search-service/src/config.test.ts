import { ConfigError } from '@rag/config/parse-config';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { SERVICE_TOKEN: 's'.repeat(32) };

describe('search service config', () => {
  it('starts on local defaults', () => {
    const config = loadConfig(base);
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8082 });
    expect(config.postgres.queryTimeoutMs).toBe(5_000);
    expect(config.cache).toEqual({ embeddingTtlSeconds: 3600, answerTtlSeconds: 300 });
    expect(config.embeddingServiceUrl).toBe('http://127.0.0.1:8081');
    expect(config.otherEmbeddingServiceUrls).toEqual([]);
  });

  it('lists an unreadable secret with the other problems, each by its variable', () => {
    let error: unknown;
    try {
      loadConfig({
        SERVICE_TOKEN_FILE: '/nonexistent/service-token',
        MILVUS_TOKEN: 'root:Milvus',
        MILVUS_TOKEN_FILE: '/run/secrets/milvus',
        SEARCH_ANSWER_CACHE_TTL_SECONDS: '-1',
        EMBEDDING_SERVICE_URLS: 'bge-m3',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'MILVUS_TOKEN (milvus.token): MILVUS_TOKEN_FILE is set too; set only one',
      expect.stringMatching(/^SERVICE_TOKEN_FILE \(serviceToken\): cannot read \/nonexistent\/service-token/),
      expect.stringMatching(/^SEARCH_ANSWER_CACHE_TTL_SECONDS \(cache\.answerTtlSeconds\): /),
      'EMBEDDING_SERVICE_URLS (otherEmbeddingServiceUrls.0): Invalid URL',
    ]);
  });
});
