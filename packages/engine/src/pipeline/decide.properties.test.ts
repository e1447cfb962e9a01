import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldConsent } from '../consent/fold.js';
import type { ConsentRecord } from '../model/consent.js';
import type { DecisionContextInput } from '../model/context.js';
import type { Decision } from '../model/decision.js';
import { MESSAGE_TYPES } from '../model/vocabulary.js';
import { rs } from '../testing/decide-kit.js';
import { generateContext, generateRequest, rng } from '../testing/generate.js';
import { inWindow, isValidTimeZone, localTime } from '../time/zoned.js';
import { decide } from './decide.js';

// Laws every decision of the default ruleset keeps, over generated contacts, messages and instants.
const BASE = Date.parse('2026-11-23T00:00:00Z');
const RUNS = 150;

const decisionCase = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  index: fc.nat(999),
  type: fc.constantFrom(...MESSAGE_TYPES),
  minute: fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }),
});
type Case = { seed: number; index: number; type: (typeof MESSAGE_TYPES)[number]; minute: number };

function build(c: Case) {
  const now = BASE + c.minute * 60_000;
  const r = rng(c.seed);
  const context = generateContext(r, c.index, now);
  const request = generateRequest(r, c.type);
  return { now, context, request };
}

/** The zone and window the ruleset says apply to this contact (restated here from the ruleset, not the engine). */
function localRules(ctx: DecisionContextInput) {
  const c = ctx.contact;
  const market = c.market !== undefined ? rs.source.markets[c.market] : undefined;
  const zone = c.timezone !== undefined && isValidTimeZone(c.timezone) ? c.timezone : (market?.timezone ?? 'UTC');
  const w = (c.market !== undefined ? rs.source.quietHours.markets[c.market] : undefined) ?? rs.source.quietHours.default;
  const minutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  return { zone, window: { start: minutes(w.start), end: minutes(w.end) } };
}

const planned = (d: Decision) => new Set(d.plan.map((s) => s.channel));

describe('laws of a decision (property-based, default ruleset)', () => {
  it('never sends inside quiet hours unless a rule bypassed them, and never before now', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const { now, context, request } = build(c);
        const d = decide(request, context, rs, now);
        if (d.sendAt === null) return d.outcome === 'suppress' && d.plan.length === 0;
        const at = Date.parse(d.sendAt);
        const { zone, window } = localRules(context);
        const quiet = !inWindow(localTime(at, zone).minuteOfDay, window);
        const bypassed = d.reasons.some((r) => r.code === 'quiet_hours_bypassed');
        const when = d.outcome === 'send' ? at === now : d.outcome === 'defer' ? at > now : at >= now;
        return when && (!quiet || bypassed);
      }),
      { numRuns: RUNS },
    );
  });

  it('plans only channels the consent ledger allows for the purpose', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const { now, context, request } = build(c);
        const d = decide(request, context, rs, now);
        const consent = foldConsent(context.consent ?? [], rs.source.consent.defaults);
        return d.plan.every((s) => consent.allows(s.channel, d.purpose));
      }),
      { numRuns: RUNS },
    );
  });

  it('adding a revoked consent line never adds a channel', () => {
    const revocation = fc.record({
      channel: fc.constantFrom('*', 'sms', 'whatsapp', 'viber', 'rcs', 'ussd', 'voice', 'email'),
      purpose: fc.constantFrom('*', 'marketing', 'service', 'transactional') as fc.Arbitrary<ConsentRecord['purpose']>,
      daysAgo: fc.integer({ min: 0, max: 120 }),
    });
    fc.assert(
      fc.property(decisionCase, revocation, (c, rev) => {
        const { now, context, request } = build(c);
        const before = decide(request, context, rs, now);
        const line: ConsentRecord = {
          channel: rev.channel,
          purpose: rev.purpose,
          status: 'revoked',
          source: 'keyword',
          at: new Date(now - rev.daysAgo * 86_400_000).toISOString(),
        };
        const after = decide(request, { ...context, consent: [...(context.consent ?? []), line] }, rs, now);
        const was = planned(before);
        return [...planned(after)].every((ch) => was.has(ch)) && (before.outcome !== 'suppress' || after.outcome === 'suppress');
      }),
      { numRuns: RUNS },
    );
  });

  it('a fallback never goes before the step it falls back from; follow-ups and fallbacks are not costed twice', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const { now, context, request } = build(c);
        const d = decide(request, context, rs, now);
        let cost = 0;
        for (const s of d.plan) {
          if (s.mode !== 'fallback') cost += s.estimatedCost;
          if (s.after === null) continue;
          const prev = d.plan[s.after];
          if (prev === undefined || Date.parse(s.sendAt) < Date.parse(prev.sendAt)) return false;
        }
        expect(d.estimatedCost).toBeCloseTo(cost, 6);
        return d.plan.filter((s) => s.mode === 'primary').length === (d.outcome === 'suppress' ? 0 : 1);
      }),
      { numRuns: RUNS },
    );
  });
});
