import { type FilterScalar, hasControlCharacter, type SearchFilter } from '@rag/contracts/search-filter';

/**
 * Compiles a validated metadata filter into a Milvus boolean expression over the `metadata` JSON field.
 * Milvus Lite rejects expression templates (exprValues), so values are written as literals with our own
 * escaping; the schema has already refused keys outside the identifier alphabet and control characters.
 *
 * Milvus evaluates a comparison on a missing key or a value of another type as unknown (SQL's three-valued
 * logic: neither it nor its `not` matches); the PostgreSQL compiler (metadata-filter-sql.ts) reproduces that.
 * Milvus Lite: `in` on a JSON path is rejected, so it is written as a disjunction of equalities.
 */
export function compileMilvusFilter(filter: SearchFilter): string {
  if ('and' in filter) return `(${filter.and.map(compileMilvusFilter).join(' && ')})`;
  if ('or' in filter) return `(${filter.or.map(compileMilvusFilter).join(' || ')})`;
  if ('not' in filter) return `(not ${compileMilvusFilter(filter.not)})`;
  const path = `metadata[${milvusString(filter.field)}]`;
  if ('eq' in filter) return `(${path} == ${milvusLiteral(filter.eq)})`;
  if ('in' in filter)
    return `(${filter.in.map((value) => `${path} == ${milvusLiteral(value)}`).join(' || ')})`;
  if ('exists' in filter) return filter.exists ? `(exists ${path})` : `(not exists ${path})`;
  const bounds: [string, string | number | undefined][] = [
    ['>', filter.gt],
    ['>=', filter.gte],
    ['<', filter.lt],
    ['<=', filter.lte],
  ];
  const parts = bounds
    .filter((bound): bound is [string, string | number] => bound[1] !== undefined)
    .map(([operator, value]) => `${path} ${operator} ${milvusLiteral(value)}`);
  return `(${parts.join(' && ')})`;
}

export function milvusLiteral(value: FilterScalar): string {
  if (typeof value === 'string') return milvusString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (!Number.isFinite(value)) throw new RangeError('filter numbers must be finite');
  // String() gives plain or exponent notation (1e+21), both in Milvus's grammar; negative numbers
  // are parenthesised so that "- -1" can never appear.
  return value < 0 || Object.is(value, -0) ? `(${String(value)})` : String(value);
}

/** A double-quoted Milvus string literal: backslash, quote and the three allowed control characters escaped. */
export function milvusString(value: string): string {
  if (hasControlCharacter(value)) {
    throw new RangeError('filter strings must not contain control characters');
  }
  const escaped = value
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
  return `"${escaped}"`;
}
