import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { embeddingServicesFromEnv, embeddingServicesSchema } from './embedding-services.js';

const parse = (env: Record<string, string>) =>
  embeddingServicesSchema.safeParse(embeddingServicesFromEnv(env));

describe('embedding services config', () => {
  it('defaults to one local service, the default model', () => {
    expect(parse({}).data).toEqual({ defaultUrl: 'http://127.0.0.1:8081', otherUrls: [] });
  });

  it('reads one service per further model from EMBEDDING_SERVICE_URLS', () => {
    expect(
      parse({
        EMBEDDING_SERVICE_URL: 'http://e5:8081',
        EMBEDDING_SERVICE_URLS: ' http://bge-m3:8081 , http://fine-tune:8081,',
      }).data,
    ).toEqual({ defaultUrl: 'http://e5:8081', otherUrls: ['http://bge-m3:8081', 'http://fine-tune:8081'] });
  });

  it('names an entry that is not a URL', () => {
    const result = parse({ EMBEDDING_SERVICE_URLS: 'http://bge-m3:8081,bge-m3' });
    expect(result.success).toBe(false);
    expect(z.prettifyError(result.error!)).toContain('otherUrls[1]');
  });
});
