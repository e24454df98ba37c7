import type { FilterScalar, SearchFilter } from '@rag/contracts/search-filter';

/**
 * The filter builder's rows and how they become the API's metadata filter language
 * (packages/contracts/src/search-filter.ts): each row one condition, all joined by `and` or by `or`.
 */
export const filterOperators = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists', 'missing'] as const;
export type FilterOperator = (typeof filterOperators)[number];

export const operatorLabels: Record<FilterOperator, string> = {
  eq: '=',
  ne: '≠',
  in: 'is one of',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  exists: 'exists',
  missing: 'is missing',
};

export interface FilterRow {
  field: string;
  operator: FilterOperator;
  /** As typed: numbers and true/false are read as such; `in` takes a comma-separated list. */
  value: string;
}

export interface FilterDraft {
  join: 'and' | 'or';
  rows: FilterRow[];
}

/** A typed value: a number or boolean when it reads as one, else the text itself. Quotes force text. */
export function scalarOf(text: string): FilterScalar {
  const trimmed = text.trim();
  const quoted = /^"(.*)"$/.exec(trimmed);
  if (quoted) return quoted[1] as string;
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return trimmed;
}

function conditionOf(row: FilterRow): SearchFilter {
  const field = row.field.trim();
  switch (row.operator) {
    case 'eq':
      return { field, eq: scalarOf(row.value) };
    case 'ne':
      return { not: { field, eq: scalarOf(row.value) } };
    case 'in':
      return {
        field,
        in: row.value
          .split(',')
          .filter((v) => v.trim() !== '')
          .map(scalarOf),
      };
    case 'exists':
      return { field, exists: true };
    case 'missing':
      return { field, exists: false };
    default: {
      const bound = scalarOf(row.value);
      return { field, [row.operator]: typeof bound === 'boolean' ? String(bound) : bound };
    }
  }
}

/** The filter for the request, or undefined when no row names a field. */
export function buildFilter(draft: FilterDraft): SearchFilter | undefined {
  const conditions = draft.rows.filter((row) => row.field.trim() !== '').map(conditionOf);
  if (conditions.length === 0) return undefined;
  if (conditions.length === 1) return conditions[0];
  return draft.join === 'and' ? { and: conditions } : { or: conditions };
}
