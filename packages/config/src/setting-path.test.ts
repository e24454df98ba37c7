import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { absolutePathSchema } from './common-schemas.js';
import { parseConfig } from './parse-config.js';
import { readSecret } from './secret.js';
import { settingPath } from './setting-path.js';

describe('settingPath', () => {
  it('keeps absolute paths and reads relative ones from RAG_BASE_DIR, not the working directory', () => {
    expect(settingPath({ RAG_BASE_DIR: '/srv/rag' }, '/var/lib/rag')).toBe('/var/lib/rag');
    expect(settingPath({ RAG_BASE_DIR: '/srv/rag' }, '.data/storage')).toBe('/srv/rag/.data/storage');
    expect(settingPath({ RAG_BASE_DIR: '/srv/rag' }, '../models/e5')).toBe('/srv/models/e5');
    expect(settingPath({}, undefined)).toBeUndefined();
  });

  it('hands a relative path without a base back unchanged, and the schema refuses it by name', () => {
    const relative = settingPath({}, '.data/storage');
    expect(relative).toBe('.data/storage');
    // A relative base is no base: it would depend on the working directory again.
    expect(settingPath({ RAG_BASE_DIR: 'checkout' }, '.data/storage')).toBe('.data/storage');
    expect(() =>
      parseConfig(z.object({ root: absolutePathSchema }), { root: relative }, { root: 'STORAGE_ROOT' }),
    ).toThrow(/STORAGE_ROOT.*absolute path.*RAG_BASE_DIR/s);
  });
});

describe('readSecret', () => {
  it('reads a relative NAME_FILE from RAG_BASE_DIR and refuses one without a base', () => {
    const base = mkdtempSync(join(tmpdir(), 'setting-path-'));
    writeFileSync(join(base, 'token'), 'from-the-file\n');
    expect(readSecret({ RAG_BASE_DIR: base, TOKEN_FILE: 'token' }, 'TOKEN')).toBe('from-the-file');
    expect(() => readSecret({ TOKEN_FILE: 'token' }, 'TOKEN')).toThrow(/TOKEN_FILE.*RAG_BASE_DIR/);
  });
});
