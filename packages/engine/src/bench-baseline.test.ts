/**
 * `pnpm bench` compares the engine with a hand-written TypeScript policy (bench/handwritten-default.ts)
 * and fails on the first decision they disagree on. This keeps the two in step between benchmark
 * runs: a change to the default ruleset that the hand-written policy does not follow fails here,
 * not weeks later in a benchmark run (a survey's topic read from replies did, for two weeks).
 */
import { describe, expect, it } from 'vitest';
import { handwrittenDefault, projectDecision } from '../bench/handwritten-default.js';
import { decideParsed, parseDecisionContext, parseMessageRequest } from './index.js';
import { defaultCompiledRuleset } from './testing/default-ruleset.js';
import { generateCases } from './testing/generate.js';

describe("the benchmark's hand-written baseline", () => {
  it('decides as the engine does on 2,000 generated contacts × every message type', () => {
    const rs = defaultCompiledRuleset();
    const outcomes: Record<string, number> = {};
    const differing: unknown[] = [];
    for (const c of generateCases(2_000, 2026)) {
      const request = parseMessageRequest(c.request);
      const context = parseDecisionContext(c.context);
      const engine = projectDecision(decideParsed(request, context, rs, c.now));
      outcomes[engine.outcome] = (outcomes[engine.outcome] ?? 0) + 1;
      const hand = handwrittenDefault(request, context, rs, c.now);
      if (JSON.stringify(engine) !== JSON.stringify(hand)) differing.push({ case: c, engine, hand });
    }
    expect(differing.slice(0, 1)).toEqual([]);
    expect(differing).toHaveLength(0);
    // the population reaches every outcome, so agreement means something
    expect(Object.keys(outcomes).sort()).toEqual(['defer', 'review', 'send', 'suppress']);
  });
});
