/**
 * `pnpm bench` compares the engine with a hand-written TypeScript policy (bench/handwritten-default.ts)
 * and fails on the first decision they disagree on. This keeps the two in step between benchmark
 * runs: a change to the default ruleset that the hand-written policy does not follow fails here,
 * not weeks later in a benchmark run (a survey's topic read from replies did, for two weeks), as
 * long as the generated population reaches the rule (the second test says which do).
 */
import { describe, expect, it } from 'vitest';
import { handwrittenDefault, projectDecision } from '../bench/handwritten-default.js';
import { decideParsed, parseDecisionContext, parseMessageRequest } from './index.js';
import { defaultCompiledRuleset } from './testing/default-ruleset.js';
import { generateCases } from './testing/generate.js';

const rs = defaultCompiledRuleset();
const cases = generateCases(2_000, 2026).map((c) => ({
  request: parseMessageRequest(c.request),
  context: parseDecisionContext(c.context),
  now: c.now,
}));

describe("the benchmark's hand-written baseline", () => {
  it('decides as the engine does on 2,000 generated contacts × every message type', () => {
    const outcomes: Record<string, number> = {};
    const differing: unknown[] = [];
    for (const c of cases) {
      const engine = projectDecision(decideParsed(c.request, c.context, rs, c.now));
      outcomes[engine.outcome] = (outcomes[engine.outcome] ?? 0) + 1;
      const hand = handwrittenDefault(c.request, c.context, rs, c.now);
      if (JSON.stringify(engine) !== JSON.stringify(hand)) differing.push({ case: c, engine, hand });
    }
    expect(differing.slice(0, 1)).toEqual([]);
    expect(differing).toHaveLength(0);
    // the population reaches every outcome, so agreement means something
    expect(Object.keys(outcomes).sort()).toEqual(['defer', 'review', 'send', 'suppress']);
  });

  it('is compared where it matters: every rule of the default ruleset that can fire fires somewhere in that population', () => {
    const fired = new Set<string>();
    for (const c of cases)
      for (const r of decideParsed(c.request, c.context, rs, c.now).reasons) if (r.code === 'rule_fired' && r.rule) fired.add(r.rule);
    const rules = rs.source.rules.map((r) => r.name);
    // the one that cannot fire with this ruleset's own mappings: USSD is a candidate only for a
    // known feature phone, the one contact it leaves USSD to
    expect(rules.filter((name) => !fired.has(name))).toEqual(['ussd-only-feature-phones']);
  });
});
