import { searchFilterSchema } from '@rag/contracts/search-filter';
import { describe, expect, it } from 'vitest';
import { compileMilvusFilter, milvusLiteral, milvusString } from './metadata-filter-milvus.js';

describe('compileMilvusFilter', () => {
  it('writes each condition over the metadata JSON field', () => {
    expect(compileMilvusFilter({ field: 'lang', eq: 'en' })).toBe('(metadata["lang"] == "en")');
    expect(compileMilvusFilter({ field: 'year', in: [2020, 2021] })).toBe(
      '(metadata["year"] == 2020 || metadata["year"] == 2021)',
    );
    expect(compileMilvusFilter({ field: 'year', gte: -5, lt: 1e21 })).toBe(
      '(metadata["year"] >= (-5) && metadata["year"] < 1e+21)',
    );
    expect(compileMilvusFilter({ field: 'a', exists: false })).toBe('(not exists metadata["a"])');
    expect(
      compileMilvusFilter({
        and: [
          { field: 'a', eq: true },
          {
            not: {
              or: [
                { field: 'b', eq: 1 },
                { field: 'c', exists: true },
              ],
            },
          },
        ],
      }),
    ).toBe('((metadata["a"] == true) && (not ((metadata["b"] == 1) || (exists metadata["c"]))))');
  });

  it('escapes quotes, backslashes and line breaks so a value stays one string literal', () => {
    expect(milvusString('say "hi"')).toBe('"say \\"hi\\""');
    expect(milvusString('C:\\dir\\')).toBe('"C:\\\\dir\\\\"');
    expect(milvusString('") || tenant_id != ("')).toBe('"\\") || tenant_id != (\\""');
    expect(milvusString('a\nb\tc\r')).toBe('"a\\nb\\tc\\r"');
    expect(milvusString('日本語 🚀')).toBe('"日本語 🚀"');
    expect(() => milvusString('a\u0000b')).toThrow(/control characters/);
    expect(milvusLiteral(-0)).toBe('(0)');
  });
});

describe('searchFilterSchema', () => {
  it('accepts the documented forms', () => {
    for (const filter of [
      { field: 'lang', eq: 'en' },
      { field: 'year', in: [1, 'x', true] },
      { field: 'year', gt: 1, lte: 5 },
      { field: 'k.sub-key', exists: true },
      { and: [{ or: [{ not: { field: 'a', eq: 1 } }] }] },
    ]) {
      expect(searchFilterSchema.safeParse(filter).success).toBe(true);
    }
  });

  it.each([
    ['a NUL byte', { field: 'a', eq: 'x\u0000' }],
    ['an escape character', { field: 'a', eq: '\u001b[31m' }],
    ['a key with a quote', { field: 'a"]', eq: 1 }],
    ['a key starting with a digit', { field: '1a', eq: 1 }],
    ['an unknown operator', { field: 'a', regex: '.*' }],
    ['two operators in one condition', { field: 'a', eq: 1, exists: true }],
    ['a range without bounds', { field: 'a' }],
    ['mixed range bounds', { field: 'a', gt: 1, lt: 'b' }],
    ['an object value', { field: 'a', eq: { $ne: 1 } }],
    ['a null value', { field: 'a', eq: null }],
    ['NaN', { field: 'a', eq: Number.NaN }],
    ['an empty and', { and: [] }],
    ['an empty in', { field: 'a', in: [] }],
    ['101 values in', { field: 'a', in: Array.from({ length: 101 }, (_, i) => i) }],
    ['65 conditions', { or: Array.from({ length: 65 }, (_, i) => ({ field: 'a', eq: i })) }],
    ['7 levels', { not: { not: { not: { not: { not: { not: { field: 'a', eq: 1 } } } } } } }],
    ['a very deep body', JSON.parse(`${'{"not":'.repeat(5000)}{"field":"a","eq":1}${'}'.repeat(5000)}`)],
    ['a long string', { field: 'a', eq: 'x'.repeat(513) }],
  ])('refuses %s', (_name, filter) => {
    expect(searchFilterSchema.safeParse(filter).success).toBe(false);
  });
});
