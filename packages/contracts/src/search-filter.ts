import { z } from 'zod';

/**
 * The metadata filter language of POST /v1/search. A filter is a tree of conditions on the documents'
 * metadata keys, compiled into the Milvus expression and the PostgreSQL query (never applied to results):
 *
 *   {"field": "lang", "eq": "en"}                  equals (string, number or boolean)
 *   {"field": "year", "in": [2023, 2024]}          equals one of
 *   {"field": "year", "gte": 2020, "lt": 2025}     range: gt / gte / lt / lte, numbers or strings
 *   {"field": "reviewed", "exists": true}          the key is present with a non-null value (false: absent)
 *   {"and": [...]}, {"or": [...]}, {"not": {...}}
 *
 * A comparison on a key that is missing, or that holds another type (or an array), is unknown rather
 * than false, as in SQL: it never matches, and neither does its `not`. `exists` is always true or false.
 */

export const filterLimits = {
  maxDepth: 6,
  maxNodes: 64,
  maxInValues: 100,
  maxStringLength: 512,
} as const;

export const filterFieldSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'metadata keys are identifiers (letters, digits, _ . -)');

/** True for C0 control characters other than tab, newline and carriage return, and for DEL. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

// Control characters other than tab, newline and carriage return (NUL included) have no place in
// metadata values and no escape in Milvus's string literals, so they are refused.
const filterStringSchema = z
  .string()
  .max(filterLimits.maxStringLength)
  .refine((value) => !hasControlCharacter(value), {
    message: 'strings in filters must not contain control characters',
  });
const filterNumberSchema = z.number().finite();
export const filterScalarSchema = z.union([filterStringSchema, filterNumberSchema, z.boolean()]);
export type FilterScalar = z.infer<typeof filterScalarSchema>;
const rangeBoundSchema = z.union([filterStringSchema, filterNumberSchema]);

export type SearchFilter =
  | { field: string; eq: FilterScalar }
  | { field: string; in: FilterScalar[] }
  | {
      field: string;
      gt?: string | number | undefined;
      gte?: string | number | undefined;
      lt?: string | number | undefined;
      lte?: string | number | undefined;
    }
  | { field: string; exists: boolean }
  | { and: SearchFilter[] }
  | { or: SearchFilter[] }
  | { not: SearchFilter };

const rangeSchema = z
  .strictObject({
    field: filterFieldSchema,
    gt: rangeBoundSchema.optional(),
    gte: rangeBoundSchema.optional(),
    lt: rangeBoundSchema.optional(),
    lte: rangeBoundSchema.optional(),
  })
  .refine((r) => [r.gt, r.gte, r.lt, r.lte].some((bound) => bound !== undefined), 'a range needs a bound')
  .refine((r) => {
    const types = new Set([r.gt, r.gte, r.lt, r.lte].filter((b) => b !== undefined).map((b) => typeof b));
    return types.size <= 1;
  }, "a range's bounds must all be numbers or all be strings");

const filterNodeSchema: z.ZodType<SearchFilter> = z.lazy(() =>
  z.union([
    z.strictObject({ field: filterFieldSchema, eq: filterScalarSchema }),
    z.strictObject({
      field: filterFieldSchema,
      in: z.array(filterScalarSchema).min(1).max(filterLimits.maxInValues),
    }),
    z.strictObject({ field: filterFieldSchema, exists: z.boolean() }),
    rangeSchema,
    z.strictObject({ and: z.array(filterNodeSchema).min(1) }),
    z.strictObject({ or: z.array(filterNodeSchema).min(1) }),
    z.strictObject({ not: filterNodeSchema }),
  ]),
);

/** Depth and size of a filter tree, to bound the expression the servers must parse and evaluate. */
export function filterShape(filter: SearchFilter, depth = 1): { depth: number; nodes: number } {
  const children =
    'and' in filter ? filter.and : 'or' in filter ? filter.or : 'not' in filter ? [filter.not] : [];
  let maxDepth = depth;
  let nodes = 1 + ('in' in filter ? filter.in.length : 0);
  for (const child of children) {
    const shape = filterShape(child, depth + 1);
    maxDepth = Math.max(maxDepth, shape.depth);
    nodes += shape.nodes;
  }
  return { depth: maxDepth, nodes };
}

/** Nesting depth of any JSON value, without recursion, so a hostile body cannot exhaust the stack. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > 64) return deepest;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const checkedFilterSchema = filterNodeSchema.superRefine((filter, context) => {
  const shape = filterShape(filter);
  if (shape.depth > filterLimits.maxDepth) {
    context.addIssue({
      code: 'custom',
      message: `filters nest at most ${filterLimits.maxDepth} levels deep`,
    });
  }
  if (shape.nodes > filterLimits.maxNodes) {
    context.addIssue({
      code: 'custom',
      message: `a filter has at most ${filterLimits.maxNodes} conditions and values`,
    });
  }
});

// Each filter level is at most three JSON levels ({"and": [{...}]}), so the raw check is generous.
export const searchFilterSchema = z
  .unknown()
  .refine((value) => jsonDepth(value) <= filterLimits.maxDepth * 3, {
    message: `filters nest at most ${filterLimits.maxDepth} levels deep`,
  })
  .pipe(checkedFilterSchema);
