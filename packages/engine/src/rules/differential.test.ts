import { Engine, Rule } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { decide, decideWithReference } from '../pipeline/decide.js';
import type { Condition, TopLevelCondition } from '../ruleset/schema.js';
import { defaultCompiledRuleset } from '../testing/default-ruleset.js';
import { generateCases, pick, rng } from '../testing/generate.js';
import { compileCondition, type Facts } from './compile-condition.js';
import { OPERATOR_NAMES, type OperatorName } from './operators.js';
import { resolvePath, splitPath } from './path.js';
import { ReferenceEngines } from './reference-engine.js';

const pathResolver = (value: object, path: string) => resolvePath(value, splitPath(path));

// A small fact space with awkward values: missing paths, null, numeric strings, arrays, booleans.
const VALUES: unknown[] = [0, 1, 2.5, -3, '1', '2abc', 'abc', '', true, false, null, undefined, ['a', 1], [], 'a'];
const PATHS = ['n', 's', 'b', 'arr', 'nested.x', 'nested.y.z', 'missing', 'nil'];

function genFacts(r: () => number): Facts {
  const one = () => ({
    n: pick(r, [0, 1, 2, 3.5, -1, '2', 'x', null]),
    s: pick(r, ['a', 'b', '1', '', null]),
    b: pick(r, [true, false, 'true', 0]),
    arr: pick(r, [['a', 1], [], ['b'], 'a', null]),
    nested: pick(r, [{ x: 1, y: { z: 'a' } }, { x: 'a' }, null, 3]),
    nil: null,
  });
  return { f1: one(), f2: one(), scalar: pick(r, [1, 'a', null, true]) };
}

function genLeaf(r: () => number): Condition {
  const op = pick(r, OPERATOR_NAMES) as OperatorName;
  const fact = pick(r, ['f1', 'f2', 'scalar']);
  const leaf: Record<string, unknown> = { fact, operator: op };
  if (fact !== 'scalar' || r() < 0.3) leaf.path = pick(r, PATHS);
  if (op === 'in' || op === 'notIn') leaf.value = pick(r, [['a', 1], [], [true, null], ['1', 2.5]]);
  else if (['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive'].includes(op)) {
    leaf.value = r() < 0.2 ? { fact: pick(r, ['f1', 'f2']), path: pick(r, ['n', 's']) } : pick(r, [0, 1, 2, -1, 2.5]);
  } else if (op === 'equal' || op === 'notEqual') {
    leaf.value =
      r() < 0.2
        ? { fact: pick(r, ['f1', 'f2']), path: pick(r, PATHS) }
        : pick(
            r,
            VALUES.filter((v) => v !== undefined && !Array.isArray(v)),
          );
  } else leaf.value = pick(r, ['a', 1, 'b', true]);
  return leaf as unknown as Condition;
}

function genCondition(r: () => number, depth: number): Condition {
  if (depth <= 0 || r() < 0.45) return genLeaf(r);
  const kind = pick(r, ['all', 'any', 'not'] as const);
  if (kind === 'not') return { not: genCondition(r, depth - 1) };
  const n = Math.floor(r() * 4);
  const parts = Array.from({ length: n }, () => genCondition(r, depth - 1));
  return kind === 'all' ? { all: parts } : { any: parts };
}

function genTop(r: () => number): TopLevelCondition {
  const c = genCondition(r, 3);
  return 'all' in c || 'any' in c || 'not' in c ? (c as TopLevelCondition) : { all: [c] };
}

describe('compiled conditions agree with json-rules-engine', () => {
  it('on 5,000 generated conditions × facts (same truth value)', async () => {
    const r = rng(7);
    let fired = 0;
    for (let i = 0; i < 5000; i++) {
      const conditions = genTop(r);
      const facts = genFacts(r);
      const engine = new Engine([], { allowUndefinedFacts: true, pathResolver });
      engine.addRule(new Rule({ name: 'r', conditions: conditions as never, event: { type: 'hit' } }));
      const { events } = await engine.run({ ...facts });
      const expected = events.length === 1;
      const got = compileCondition(conditions)(facts);
      if (got !== expected) throw new Error(`disagree on case ${i}: ${JSON.stringify({ conditions, facts })}`);
      if (got) fired++;
    }
    // the generator exercises both outcomes
    expect(fired).toBeGreaterThan(500);
    expect(fired).toBeLessThan(4500);
  });

  // json-rules-engine runs a priority level's rules in parallel and emits their events as they
  // complete; levels run in priority order. We fire in priority order, then document order.
  it('on 1,000 generated rulesets of 12 prioritised rules: same events, same priority order', async () => {
    const r = rng(11);
    for (let i = 0; i < 1000; i++) {
      const rules = Array.from({ length: 12 }, (_, k) => ({ name: `r${k}`, priority: 1 + Math.floor(r() * 4), conditions: genTop(r) }));
      const facts = genFacts(r);
      const engine = new Engine([], { allowUndefinedFacts: true, pathResolver });
      for (const rule of rules) engine.addRule(new Rule({ ...rule, conditions: rule.conditions as never, event: { type: rule.name } }));
      const { events } = await engine.run({ ...facts });
      const ours = rules
        .map((rule, order) => ({ ...rule, order, test: compileCondition(rule.conditions) }))
        .sort((a, b) => b.priority - a.priority || a.order - b.order)
        .filter((rule) => rule.test(facts))
        .map((rule) => rule.name);
      const prio = new Map(rules.map((x) => [x.name, x.priority]));
      const theirs = events.map((e) => e.type);
      expect(theirs.map((n) => prio.get(n))).toEqual(ours.map((n) => prio.get(n)));
      expect([...theirs].sort()).toEqual([...ours].sort());
    }
  });
});

describe('decisions with compiled rules equal decisions with json-rules-engine', () => {
  const rs = defaultCompiledRuleset();
  const engines = new ReferenceEngines(rs);

  it('on 3,000 generated contacts × message types of the default ruleset', async () => {
    const cases = generateCases(500, 3);
    const outcomes = new Set<string>();
    for (const c of cases) {
      const compiled = decide(c.request, c.context, rs, c.now);
      const reference = await decideWithReference(c.request, c.context, rs, engines, c.now);
      expect(compiled).toEqual(reference);
      outcomes.add(compiled.outcome);
    }
    expect([...outcomes].sort()).toEqual(['defer', 'review', 'send', 'suppress']);
  });

  it('1,000 concurrent reference decisions over different contacts each get their own correct result', async () => {
    const cases = generateCases(167, 5).slice(0, 1000);
    const expected = cases.map((c) => decide(c.request, c.context, rs, c.now));
    const pool = new ReferenceEngines(rs);
    const got = await Promise.all(cases.map((c) => decideWithReference(c.request, c.context, rs, pool, c.now)));
    expect(got).toEqual(expected);
    expect(new Set(got.map((d) => d.contactId)).size).toBe(167);
    // the pool stays bounded: at most 8 engines per stage, each reused
    expect(pool.built).toBeLessThanOrEqual(8 * 7);
  });

  it('one shared json-rules-engine Engine is NOT safe for concurrent runs (why the pool exists)', async () => {
    // An async fact makes runs interleave; a single Engine's shared status then cuts runs short.
    const engine = new Engine([], { allowUndefinedFacts: true, pathResolver });
    for (let p = 1; p <= 3; p++) {
      engine.addRule(
        new Rule({
          name: `p${p}`,
          priority: p,
          conditions: { all: [{ fact: 'x', operator: 'equal', value: 1 }] },
          event: { type: `p${p}` },
        }),
      );
    }
    engine.addFact('x', async (_p, almanac) => {
      const d = (await almanac.factValue('delay')) as number;
      await new Promise((res) => setTimeout(res, d));
      return 1;
    });
    const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => engine.run({ delay: i % 5 })));
    const complete = runs.filter((r) => r.events.length === 3).length;
    expect(complete).toBeLessThan(50);
  });
});
