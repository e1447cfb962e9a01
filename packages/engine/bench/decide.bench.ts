/**
 * pnpm bench — decisions per second for the default ruleset against a hand-written TypeScript
 * function implementing the same policy, in the same run, on the same generated population.
 * Every decision must agree (a disagreement fails the benchmark). Single thread (one core).
 */
import { decide, decideParsed, parseDecisionContext, parseMessageRequest } from '../src/index.js';
import { defaultCompiledRuleset } from '../src/testing/default-ruleset.js';
import { generateCases } from '../src/testing/generate.js';
import { handwrittenDefault, projectDecision } from './handwritten-default.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const rs = defaultCompiledRuleset();
const cases = generateCases(CONTACTS, 2026);
const parsed = cases.map((c) => ({ request: parseMessageRequest(c.request), context: parseDecisionContext(c.context), now: c.now }));

// 1. agreement on every case
const outcomes: Record<string, number> = {};
let disagreements = 0;
for (const c of parsed) {
  const engine = projectDecision(decideParsed(c.request, c.context, rs, c.now));
  const hand = handwrittenDefault(c.request, c.context, rs, c.now);
  outcomes[engine.outcome] = (outcomes[engine.outcome] ?? 0) + 1;
  if (JSON.stringify(engine) !== JSON.stringify(hand)) {
    if (disagreements < 3)
      console.error(
        'DISAGREE',
        JSON.stringify({ request: c.request, context: c.context, now: new Date(c.now).toISOString(), engine, hand }, null, 1),
      );
    disagreements++;
  }
}
console.log(`cases: ${parsed.length} (${CONTACTS} contacts × 6 message types); outcomes ${JSON.stringify(outcomes)}`);
if (disagreements > 0) {
  console.error(`FAIL: ${disagreements} decisions differ between the engine and the hand-written policy`);
  process.exit(1);
}
console.log('agreement: every decision identical (outcome, send time, plan steps, content, cost)');

// 2. speed: best of ROUNDS passes each, interleaved so both see the same machine state
function measure(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}
let bestEngine = Number.POSITIVE_INFINITY;
let bestHand = Number.POSITIVE_INFINITY;
let bestValidated = Number.POSITIVE_INFINITY;
let sink = 0;
for (let round = 0; round < ROUNDS; round++) {
  bestHand = Math.min(
    bestHand,
    measure(() => {
      for (const c of parsed) sink += handwrittenDefault(c.request, c.context, rs, c.now).plan.length;
    }),
  );
  bestEngine = Math.min(
    bestEngine,
    measure(() => {
      for (const c of parsed) sink += decideParsed(c.request, c.context, rs, c.now).plan.length;
    }),
  );
  bestValidated = Math.min(
    bestValidated,
    measure(() => {
      for (const c of cases) sink += decide(c.request, c.context, rs, c.now).plan.length;
    }),
  );
}
const n = parsed.length;
const engineRate = n / bestEngine;
const handRate = n / bestHand;
const validatedRate = n / bestValidated;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(
  `decide (engine, validated inputs): ${fmt(engineRate)} decisions/s, baseline hand-written ${fmt(handRate)} decisions/s, ratio ${(engineRate / handRate).toFixed(3)}`,
);
console.log(
  `decide (engine incl. input validation): ${fmt(validatedRate)} decisions/s, baseline hand-written ${fmt(handRate)} decisions/s, ratio ${(validatedRate / handRate).toFixed(3)}`,
);
console.log(
  `targets: ≥ 100,000 decisions/s and ratio ≥ 0.25 → ${engineRate >= 100_000 && engineRate / handRate >= 0.25 ? 'met' : 'NOT met'} (checksum ${sink % 997})`,
);
