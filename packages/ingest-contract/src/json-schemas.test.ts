import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ingestJsonSchemas } from './json-schemas.js';

const schemaDir = fileURLToPath(new URL('../schema/', import.meta.url));
const update = process.env.UPDATE_JSON_SCHEMA === '1';

describe('committed JSON Schema files', () => {
  for (const [file, schema] of Object.entries(ingestJsonSchemas())) {
    it(`${file} matches the zod schema (regenerate with pnpm --filter @rag/ingest-contract json-schema)`, () => {
      if (update) writeFileSync(`${schemaDir}${file}`, `${JSON.stringify(schema, null, 2)}\n`);
      // Compared as data: the formatter may lay the file out differently.
      expect(JSON.parse(readFileSync(`${schemaDir}${file}`, 'utf8'))).toEqual(schema);
    });
  }
});
