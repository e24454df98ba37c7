import type { FilterScalar, SearchFilter } from '@rag/contracts/search-filter';

/**
 * Compiles a validated metadata filter into a PostgreSQL condition on `documents.metadata` (jsonb), with
 * every key and value passed as a query parameter. It keeps Milvus's semantics (metadata-filter-milvus.ts):
 * a comparison on a missing key, a JSON null or a scalar of another type is NULL (unknown), so neither it
 * nor its NOT matches; equality with an array or object is false; `exists` is true or false. Strings compare by code point (COLLATE "C"), as in Milvus.
 */
export interface SqlFilter {
  sql: string;
  params: unknown[];
}

export function compileSqlFilter(filter: SearchFilter, column: string, firstParam: number): SqlFilter {
  const params: unknown[] = [];
  const param = (value: unknown, cast: string) => {
    params.push(value);
    return `$${firstParam + params.length - 1}::${cast}`;
  };

  function typed(
    field: string,
    operator: string,
    value: FilterScalar,
    test: (json: string) => string,
  ): string {
    const json = `(${column} -> ${param(field, 'text')})`;
    const type = typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'boolean';
    // Milvus: equality with an array or object is false; any other mismatch is unknown.
    const containers = operator === '=' ? ` WHEN 'array' THEN false WHEN 'object' THEN false` : '';
    return `(CASE jsonb_typeof(${json}) WHEN '${type}' THEN ${test(json)}${containers} END)`;
  }

  function compare(field: string, operator: string, value: FilterScalar): string {
    if (typeof value === 'string') {
      return typed(
        field,
        operator,
        value,
        (json) => `(${json} #>> '{}') COLLATE "C" ${operator} ${param(value, 'text')} COLLATE "C"`,
      );
    }
    // jsonb compares numbers numerically (1 = 1.0) and booleans as booleans.
    return typed(
      field,
      operator,
      value,
      (json) => `${json} ${operator} ${param(JSON.stringify(value), 'jsonb')}`,
    );
  }

  function compile(node: SearchFilter): string {
    if ('and' in node) return `(${node.and.map(compile).join(' AND ')})`;
    if ('or' in node) return `(${node.or.map(compile).join(' OR ')})`;
    if ('not' in node) return `(NOT ${compile(node.not)})`;
    if ('eq' in node) return compare(node.field, '=', node.eq);
    if ('in' in node) return `(${node.in.map((value) => compare(node.field, '=', value)).join(' OR ')})`;
    if ('exists' in node) {
      const present = `coalesce(jsonb_typeof(${column} -> ${param(node.field, 'text')}) <> 'null', false)`;
      return node.exists ? present : `(NOT ${present})`;
    }
    const bounds: [string, string | number | undefined][] = [
      ['>', node.gt],
      ['>=', node.gte],
      ['<', node.lt],
      ['<=', node.lte],
    ];
    const parts = bounds
      .filter((bound): bound is [string, string | number] => bound[1] !== undefined)
      .map(([operator, value]) => compare(node.field, operator, value));
    return `(${parts.join(' AND ')})`;
  }

  return { sql: compile(filter), params };
}
