import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { httpServerSchema } from './common-schemas.js';
import { ConfigError, parseConfig } from './parse-config.js';
import { readSecret } from './secret.js';

describe('parseConfig', () => {
  const schema = z.object({ http: httpServerSchema, name: z.string().min(1) });

  it('coerces strings from the environment and applies defaults', () => {
    const config = parseConfig(schema, { http: { port: '8080' }, name: 'x' });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      shutdownGraceMs: 10_000,
      shutdownDelayMs: 0,
    });
  });

  it('lists every problem with the variable that feeds it', () => {
    let error: unknown;
    try {
      parseConfig(schema, { http: { port: 'abc' }, name: '' }, { 'http.port': 'PORT', name: 'NAME' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^PORT \(http\.port\)/);
    expect(problems[1]).toMatch(/^NAME \(name\)/);
  });
});

describe('readSecret', () => {
  it('reads NAME_FILE and trims the trailing newline', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'secret-')), 'key');
    writeFileSync(file, 's3cret\n');
    expect(readSecret({ API_KEY_FILE: file }, 'API_KEY')).toBe('s3cret');
  });

  it('refuses NAME and NAME_FILE together', () => {
    expect(() => readSecret({ API_KEY: 'a', API_KEY_FILE: '/x' }, 'API_KEY')).toThrow(/both set/);
  });

  it('names the file it cannot read', () => {
    expect(() => readSecret({ API_KEY_FILE: '/nonexistent/key' }, 'API_KEY')).toThrow(/\/nonexistent\/key/);
  });

  it('treats an empty value as unset', () => {
    expect(readSecret({ API_KEY: '' }, 'API_KEY')).toBeUndefined();
  });
});

describe('shared environment groups', () => {
  it('map the documented variables into groups and leave unset ones to the defaults', async () => {
    const { milvusFromEnv, postgresFromEnv } = await import('./env-groups.js');
    expect(postgresFromEnv({ DATABASE_URL: 'postgres://db/x', DATABASE_SCHEMA: 's1' })).toEqual({
      url: 'postgres://db/x',
      schema: 's1',
    });
    expect(milvusFromEnv({ MILVUS_ADDRESS: 'milvus:19530' })).toEqual({ address: 'milvus:19530' });
  });
});

describe('the start-up report', () => {
  it('names an entry of a list by the variable of the list', () => {
    const schema = z.object({ urls: z.array(z.string().url()) });
    expect(() => parseConfig(schema, { urls: ['http://a', 'b'] }, { urls: 'URLS' })).toThrow(
      /URLS \(urls\.1\): /,
    );
  });
});
