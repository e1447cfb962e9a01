import type { Condition, LeafCondition, TopLevelCondition } from '../ruleset/schema.js';
import { OPERATORS, type OperatorName } from './operators.js';
import { resolvePath, splitPath } from './path.js';

export type Facts = Readonly<Record<string, unknown>>;
export type CompiledCondition = (facts: Facts) => boolean;

/**
 * Compiles json-rules-engine conditions into one synchronous closure with the engine's semantics:
 * `all`/`any` of nothing are true, `not` negates, a leaf reads `fact` (then `path` when the fact
 * is an object), compares with its operator's validator and comparison, and a `{fact, path}` value
 * is read from the facts too. Differential tests hold this to json-rules-engine itself.
 */
export function compileCondition(condition: TopLevelCondition | Condition): CompiledCondition {
  if ('all' in condition) {
    const parts = condition.all.map(compileCondition);
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0] as CompiledCondition;
    return (facts) => {
      for (const p of parts) if (!p(facts)) return false;
      return true;
    };
  }
  if ('any' in condition) {
    const parts = condition.any.map(compileCondition);
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0] as CompiledCondition;
    return (facts) => {
      for (const p of parts) if (p(facts)) return true;
      return false;
    };
  }
  if ('not' in condition) {
    const inner = compileCondition(condition.not);
    return (facts) => !inner(facts);
  }
  return compileLeaf(condition);
}

/** A fact is an own property of the facts: `constructor` or `toString` name nothing, as in json-rules-engine. */
const factOf = (facts: Facts, fact: string): unknown => (Object.hasOwn(facts, fact) ? facts[fact] : undefined);

function reader(fact: string, path: string | undefined): (facts: Facts) => unknown {
  if (path === undefined) return (facts) => factOf(facts, fact);
  const segments = splitPath(path);
  return (facts) => {
    const v = factOf(facts, fact);
    // json-rules-engine applies the path only to objects; other values pass through unchanged.
    return v !== null && typeof v === 'object' ? resolvePath(v, segments) : v;
  };
}

function compileLeaf(leaf: LeafCondition): CompiledCondition {
  const op = OPERATORS[leaf.operator as OperatorName];
  if (op === undefined) throw new Error(`operator ${leaf.operator} is not known`);
  const lhs = reader(leaf.fact, leaf.path);
  const value = leaf.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'fact')) {
    const rhs = reader(value.fact, value.path);
    return (facts) => op(lhs(facts), rhs(facts));
  }
  return (facts) => op(lhs(facts), value);
}
