import { searchFilterSchema } from '@rag/contracts/search-filter';
import { describe, expect, it } from 'vitest';
import { buildFilter, scalarOf } from './filter-model.js';

describe('filter builder', () => {
  it('types values as the filter language expects them', () => {
    expect([
      scalarOf(' 2024 '),
      scalarOf('true'),
      scalarOf('ja'),
      scalarOf('"2024"'),
      scalarOf('-1.5'),
    ]).toEqual([2024, true, 'ja', '2024', -1.5]);
  });

  it('joins rows into one filter the server accepts', () => {
    const filter = buildFilter({
      join: 'and',
      rows: [
        { field: 'lang', operator: 'eq', value: 'ja' },
        { field: 'year', operator: 'gte', value: '2020' },
        { field: 'dept', operator: 'in', value: '人事, 経理' },
        { field: 'draft', operator: 'ne', value: 'true' },
        { field: 'reviewed', operator: 'exists', value: '' },
        { field: '', operator: 'eq', value: 'ignored' },
      ],
    });
    expect(filter).toEqual({
      and: [
        { field: 'lang', eq: 'ja' },
        { field: 'year', gte: 2020 },
        { field: 'dept', in: ['人事', '経理'] },
        { not: { field: 'draft', eq: true } },
        { field: 'reviewed', exists: true },
      ],
    });
    expect(searchFilterSchema.safeParse(filter).success).toBe(true);
  });

  it('sends a single condition bare and nothing for empty rows', () => {
    expect(buildFilter({ join: 'or', rows: [{ field: 'lang', operator: 'missing', value: '' }] })).toEqual({
      field: 'lang',
      exists: false,
    });
    expect(buildFilter({ join: 'or', rows: [{ field: ' ', operator: 'eq', value: 'x' }] })).toBeUndefined();
  });
});
