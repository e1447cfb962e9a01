/**
 * pnpm bench — rendering cost per message beside decide's: on the engine's generated population,
 * each message given a default-ruleset template with content, the time to decide it, and the time
 * to render it (the SMS segments the cost stage prices, then the first step's content), measured
 * in the same run, best of ROUNDS, interleaved. Single thread.
 */
import { DEFAULT_RULESET, decideParsed, loadRuleset, type MessageType, parseDecisionContext, parseMessageRequest } from '@signalbox/engine';
import { generateCases } from '@signalbox/engine/testing';
import { ContentRenderer } from '../src/content/renderer.js';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const rs = loadRuleset(DEFAULT_RULESET);
const renderer = new ContentRenderer();
/** A template with content per message type, and what its requests carry. */
const TEMPLATES: Record<
  MessageType,
  { template: string; variables: Record<string, string | number>; object?: { type: string; id: string } }
> = {
  otp: { template: 'otp_code', variables: { code: '482913' } },
  transactional: { template: 'otp_code', variables: { code: '190274' } },
  service: {
    template: 'payment_reminder_friendly',
    variables: { amount: 1250, currency: 'KES' },
    object: { type: 'invoice', id: 'INV-2041' },
  },
  rich: {
    template: 'appointment_confirm_request',
    variables: { startsAt: '2026-11-26T07:00:00Z' },
    object: { type: 'appointment', id: 'a-1' },
  },
  urgent: { template: 'payment_reminder_call', variables: { amount: 1250 }, object: { type: 'invoice', id: 'INV-2041' } },
  promotional: { template: 'cart_reminder', variables: { cartUrl: 'https://shop.example.com/c/9' } },
};
const cases = generateCases(CONTACTS, 2026).map((c) => {
  const request = parseMessageRequest(c.request);
  const t = TEMPLATES[request.type];
  const withContent = { ...request, template: t.template, variables: t.variables, ...(t.object ? { object: t.object } : {}) };
  const context = parseDecisionContext(c.context);
  return { request: withContent, context, now: c.now, decision: decideParsed(withContent, context, rs, c.now) };
});

function measure(fn: () => number): { s: number; sink: number } {
  const t = process.hrtime.bigint();
  const sink = fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, sink };
}
let bestDecide = Number.POSITIVE_INFINITY;
let bestRender = Number.POSITIVE_INFINITY;
let rendered = 0;
let refused = 0;
let sink = 0;
for (let round = 0; round < ROUNDS; round++) {
  const d = measure(() => {
    let n = 0;
    for (const c of cases) n += decideParsed(c.request, c.context, rs, c.now).plan.length;
    return n;
  });
  bestDecide = Math.min(bestDecide, d.s);
  const r = measure(() => {
    let n = 0;
    rendered = 0;
    refused = 0;
    for (const c of cases) {
      const target = { request: c.request, contact: c.context.contact };
      n += renderer.facts(rs, target)?.segments.text?.segments ?? 0;
      const step = c.decision.plan[0];
      if (step === undefined) continue;
      const out = renderer.forChannel(rs, step.channel, step.content, target);
      if (out?.ok) rendered++;
      else refused++;
    }
    return n;
  });
  bestRender = Math.min(bestRender, r.s);
  sink += d.sink + r.sink;
}
const n = cases.length;
const us = (s: number) => ((s / n) * 1e6).toFixed(1);
console.log(`content: ${n} messages (${CONTACTS} contacts × 6 types), first steps rendered ${rendered}, refused ${refused}`);
console.log(
  `per message: decide ${us(bestDecide)} µs, render ${us(bestRender)} µs (segments for the cost stage + the first step's content), render/decide ratio ${(bestRender / bestDecide).toFixed(2)} (checksum ${sink % 997})`,
);
