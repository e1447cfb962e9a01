import { describe, expect, it } from 'vitest';
import {
  consent,
  contact,
  EMAIL_OPT_IN,
  firedRules,
  MORNING_KE,
  reasonsOf,
  rule,
  ruleset,
  run,
  setIn,
  steps,
} from '../testing/decide-kit.js';

const de = contact({
  market: 'DE',
  timezone: 'Europe/Berlin',
  capabilities: { whatsapp: true },
  engagement: { whatsapp: { sent: 10, delivered: 10, read: 8, replied: 1 } },
});
const WA_MARKETING = consent('whatsapp', 'marketing', 'granted');
const BERLIN_NOON = '2026-11-23T11:00:00Z';

describe('the promotional price cap (0.05 a message)', () => {
  it('drops WhatsApp in Germany (0.062) for an engaged contact: the promo goes by email, and the reason gives the price', () => {
    const d = run({ type: 'promotional', template: 'promo' }, { contact: de, consent: [EMAIL_OPT_IN, WA_MARKETING] }, BERLIN_NOON);
    expect(steps(d)).toEqual(['primary:email']);
    expect(firedRules(d)).toContain('promo-cost-cap');
    expect(reasonsOf(d, 'cost').map((r) => [r.stage, r.channel, r.message])).toEqual([
      ['cost', 'whatsapp', 'whatsapp costs 0.062 USD, above the limit of 0.05'],
    ]);
  });
  it('keeps WhatsApp where it is cheaper than the cap (Kenya, 0.012)', () => {
    const ke = { ...de, market: 'KE', timezone: 'Africa/Nairobi' };
    const d = run({ type: 'promotional', template: 'promo' }, { contact: ke, consent: [EMAIL_OPT_IN, WA_MARKETING] });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:email']);
    expect(reasonsOf(d, 'cost')).toEqual([]);
  });
  it('a channel priced exactly at the cap stays', () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['prices', 'markets', 'DE', 'whatsapp'], 0.05);
      },
    });
    const d = run({ type: 'promotional', template: 'promo' }, { contact: de, consent: [EMAIL_OPT_IN, WA_MARKETING] }, BERLIN_NOON, rs);
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:email']);
  });
  it('does not apply to other message types', () => {
    const d = run({ type: 'service' }, { contact: { ...de, lastInbound: { whatsapp: '2026-11-23T10:00:00Z' } } }, BERLIN_NOON);
    expect(steps(d)[0]).toBe('primary:whatsapp');
    expect(firedRules(d)).not.toContain('promo-cost-cap');
  });
  it('the lowest of several price rules is the limit', () => {
    const rs = ruleset([rule('tight', 'cost', ['promotional'], { type: 'price', params: { maxCost: 0.0005 } })]);
    const d = run({ type: 'promotional' }, {}, MORNING_KE, rs);
    expect(d.outcome).toBe('suppress');
    expect(reasonsOf(d, 'cost')[0]?.message).toBe('email costs 0.001 USD, above the limit of 0.0005');
    const loose = ruleset([rule('loose', 'cost', ['promotional'], { type: 'price', params: { maxCost: 1 } })]);
    expect(
      steps(run({ type: 'promotional', template: 'promo' }, { contact: de, consent: [EMAIL_OPT_IN, WA_MARKETING] }, BERLIN_NOON, loose)),
    ).toEqual(['primary:email']);
  });
});

describe('equivalent channels go cheapest first', () => {
  const both = contact({ capabilities: { whatsapp: true, viber: true }, lastInbound: { whatsapp: '2026-11-23T06:00:00Z' } });
  it('Viber (0.01) before WhatsApp (0.012) in Kenya, and the reason lists the prices and that they were reordered', () => {
    const d = run({ type: 'service' }, { contact: both });
    expect(steps(d)).toEqual(['primary:viber', 'fallback:whatsapp', 'fallback:sms']);
    expect(reasonsOf(d, 'ordered_by_cost').map((r) => r.message)).toEqual([
      'equivalent channels by price: viber 0.01 < whatsapp 0.012 (reordered)',
    ]);
  });
  it('already in price order: kept, and not called reordered', () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['prices', 'markets', 'KE', 'viber'], 0.02);
      },
    });
    const d = run({ type: 'service' }, { contact: both }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:viber', 'fallback:sms']);
    expect(reasonsOf(d, 'ordered_by_cost').map((r) => [r.stage, r.message])).toEqual([
      ['cost', 'equivalent channels by price: whatsapp 0.012 < viber 0.02'],
    ]);
  });
  it('equal prices keep the order the rule gave', () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['prices', 'markets', 'KE', 'viber'], 0.012);
      },
    });
    expect(steps(run({ type: 'service' }, { contact: both }, MORNING_KE, rs))).toEqual([
      'primary:whatsapp',
      'fallback:viber',
      'fallback:sms',
    ]);
  });
  it('a single channel is not a group: no ordering reason', () => {
    expect(reasonsOf(run({ type: 'otp' }), 'ordered_by_cost')).toEqual([]);
  });
  it('a market without its own price for a channel uses the default price', () => {
    // Germany has no USSD price; a feature-phone contact elsewhere uses the market table
    const d = run({ type: 'otp' }, { contact: contact({ market: 'FR', timezone: 'Europe/Paris' }) }, '2026-11-23T10:00:00Z');
    expect(d.plan.map((s) => s.estimatedCost)).toEqual([0.05, 0.09]);
  });
  it('a prefer rule in the cost stage moves its channel first, if it is a candidate', () => {
    const rs = ruleset([
      rule('whatsapp-first', 'cost', ['service'], { type: 'prefer', params: { channel: 'whatsapp' } }),
      rule('rcs-first', 'cost', ['service'], { type: 'prefer', params: { channel: 'rcs' } }),
    ]);
    const d = run({ type: 'service' }, { contact: both }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:viber', 'fallback:sms']);
    expect(firedRules(d)).toContain('whatsapp-first');
    expect(firedRules(d)).not.toContain('rcs-first');
  });
});
