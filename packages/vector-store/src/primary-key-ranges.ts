/**
 * Ranges of a VarChar primary key for reading a whole collection in pages.
 *
 * Milvus answers a query's rows in no particular order across segments (Milvus Lite visibly so), and a query
 * may return at most 16,384 rows (offset + limit). The SDK's queryIterator pages with "pk > last row's pk",
 * which silently skips and repeats rows when the rows are not sorted. Instead, the key space is cut into
 * ranges small enough (by a count) to come back whole in one query, in any order.
 *
 * Primary keys are printable ASCII without spaces (`isPagedKey`); a range is every key that starts with
 * `prefix` followed by a character from `low` to `high` (inclusive). The whole key space is the range with
 * an empty prefix from the first to the last character.
 */
export interface KeyRange {
  prefix: string;
  low: number;
  high: number;
}

const firstChar = 0x21;
const lastChar = 0x7e;

export const allKeys: KeyRange = { prefix: '', low: firstChar, high: lastChar };

export function isPagedKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key);
}

/** The range as a Milvus filter on `field`: `field >= from && field < to` (no upper bound at the very end). */
export function rangeFilter(field: string, range: KeyRange): string {
  const from = range.prefix + String.fromCharCode(range.low);
  const to =
    range.high < lastChar ? range.prefix + String.fromCharCode(range.high + 1) : successor(range.prefix);
  return to === undefined
    ? `${field} >= ${quote(from)}`
    : `${field} >= ${quote(from)} && ${field} < ${quote(to)}`;
}

/**
 * A range with too many rows, cut in two halves of its characters; a range of one character becomes the key
 * that is exactly `prefix + character` (returned as `exact`) and the range of its longer keys.
 */
export function splitRange(range: KeyRange): { ranges: KeyRange[]; exact?: string } {
  if (range.low < range.high) {
    const middle = (range.low + range.high) >> 1;
    return {
      ranges: [
        { prefix: range.prefix, low: range.low, high: middle },
        { prefix: range.prefix, low: middle + 1, high: range.high },
      ],
    };
  }
  const exact = range.prefix + String.fromCharCode(range.low);
  return { ranges: [{ prefix: exact, low: firstChar, high: lastChar }], exact };
}

export function equalsFilter(field: string, key: string): string {
  return `${field} == ${quote(key)}`;
}

/** The smallest key above every key that starts with `prefix`; undefined when there is none. */
function successor(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < lastChar) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return undefined;
}

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
