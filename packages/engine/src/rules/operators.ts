/**
 * The operators json-rules-engine ships with, re-implemented as plain functions with exactly its
 * semantics (validator on the fact value, then the comparison), so compiled conditions and the
 * reference engine agree. Source: json-rules-engine 7.3.1 dist/engine-default-operators.js.
 */
export type OperatorName =
  | 'equal'
  | 'notEqual'
  | 'in'
  | 'notIn'
  | 'contains'
  | 'doesNotContain'
  | 'lessThan'
  | 'lessThanInclusive'
  | 'greaterThan'
  | 'greaterThanInclusive';

export const OPERATOR_NAMES: readonly OperatorName[] = [
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
];

type Comparison = (a: unknown, b: unknown) => boolean;

// json-rules-engine's own numberValidator: parseFloat, then compare the text with 'NaN'.
const isNumberLike = (v: unknown): boolean => Number.parseFloat(v as string).toString() !== 'NaN';
const indexOf = (haystack: unknown, needle: unknown): number => (haystack as { indexOf(x: unknown): number }).indexOf(needle);

export const OPERATORS: Record<OperatorName, Comparison> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: (a, b) => indexOf(b, a) > -1,
  notIn: (a, b) => indexOf(b, a) === -1,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: (a, b) => isNumberLike(a) && (a as number) < (b as number),
  lessThanInclusive: (a, b) => isNumberLike(a) && (a as number) <= (b as number),
  greaterThan: (a, b) => isNumberLike(a) && (a as number) > (b as number),
  greaterThanInclusive: (a, b) => isNumberLike(a) && (a as number) >= (b as number),
};

/** Operators whose right-hand side must be an array (or a fact reference). */
export const ARRAY_VALUE_OPERATORS: ReadonlySet<OperatorName> = new Set(['in', 'notIn']);
/** Operators whose right-hand side must be a number (or a fact reference). */
export const NUMERIC_OPERATORS: ReadonlySet<OperatorName> = new Set([
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
]);
