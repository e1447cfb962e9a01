import { describe, expect, it } from 'vitest';
import type { ContactInput } from '../model/contact.js';
import type { DecisionContextInput } from '../model/context.js';
import type { MessageRequestInput } from '../model/message.js';
import { consent, contact, EMAIL_OPT_IN, MORNING_KE, reasonsOf, ruleset, run } from '../testing/decide-kit.js';
import { decideParsed, parseDecisionContext, parseMessageRequest } from './decide.js';
import { bestHourOf } from './facts.js';

const NOW = Date.parse(MORNING_KE); // Monday 10:00 Nairobi
const ago = (h: number) => new Date(NOW - h * 3_600_000).toISOString();

/** A ruleset whose one guard suppresses OTPs when a fact condition holds: the facts a rule sees, made visible. */
function when(fact: string, path: string, operator: string, value: unknown) {
  return ruleset([
    {
      name: 'probe',
      stage: 'guards',
      priority: 100,
      conditions: {
        all: [
          { fact: 'message', path: 'type', operator: 'equal', value: 'otp' },
          { fact, path, operator, value },
        ],
      },
      event: { type: 'suppress', params: { reason: 'probe' } },
    },
  ]);
}
const holds = (
  rs: ReturnType<typeof when>,
  ctx: Partial<DecisionContextInput> = {},
  now = MORNING_KE,
  req: MessageRequestInput = { type: 'otp' },
): boolean => reasonsOf(run(req, ctx, now, rs), 'suppressed').length > 0;

describe('the best hour', () => {
  it('is the hour with most reads once there are at least three; the earliest wins a tie', () => {
    const r = (counts: Record<number, number>) => Array.from({ length: 24 }, (_, h) => counts[h] ?? 0);
    expect(bestHourOf(undefined)).toBeNull();
    expect(bestHourOf(r({}))).toBeNull();
    expect(bestHourOf(r({ 9: 2 }))).toBeNull();
    expect(bestHourOf(r({ 9: 3 }))).toBe(9);
    expect(bestHourOf(r({ 9: 1, 14: 1, 20: 1 }))).toBe(9);
    expect(bestHourOf(r({ 9: 2, 14: 2 }))).toBe(9);
    expect(bestHourOf(r({ 0: 4, 23: 1 }))).toBe(0);
    expect(bestHourOf(r({ 3: 1, 23: 5 }))).toBe(23);
    expect(bestHourOf(r({ 9: 2, 14: 3 }))).toBe(14);
  });
  it('is a fact rules can read', () => {
    const rs = when('contact', 'bestHour', 'equal', 14);
    expect(holds(rs, { contact: contact({ readHours: Array.from({ length: 24 }, (_, h) => (h === 14 ? 3 : 0)) }) })).toBe(true);
    expect(holds(rs)).toBe(false);
  });
});

describe('history counts', () => {
  const rs = when('history', 'all.day', 'greaterThanInclusive', 2);
  const week = when('history', 'service.week', 'greaterThanInclusive', 2);
  const sent = (h: number, type: 'service' | 'otp' = 'service') => ({ at: ago(h), type });
  it('count the last 24 hours: exactly 24 h old is out, and so is anything dated after now', () => {
    expect(holds(rs, { history: [sent(1), sent(23.99, 'otp')] })).toBe(true);
    expect(holds(rs, { history: [sent(1), sent(24)] })).toBe(false);
    expect(holds(rs, { history: [sent(0), sent(-0.01)] })).toBe(false);
    expect(holds(rs, { history: [sent(0), sent(0)] })).toBe(true);
  });
  it('count the last 7 days per message type', () => {
    expect(holds(week, { history: [sent(30), sent(7 * 24 - 0.01)] })).toBe(true);
    expect(holds(week, { history: [sent(30), sent(7 * 24)] })).toBe(false);
    expect(holds(week, { history: [sent(30), sent(40, 'otp')] })).toBe(false);
  });
});

describe('local time facts', () => {
  it('hour, minute, weekday, HH:MM and whether it is quiet, in the contact’s zone', () => {
    expect(holds(when('local', 'hour', 'equal', 10))).toBe(true);
    expect(holds(when('local', 'minute', 'equal', 5), {}, '2026-11-23T07:05:00Z')).toBe(true);
    expect(holds(when('local', 'weekday', 'equal', 1))).toBe(true);
    expect(holds(when('local', 'time', 'equal', '09:05'), {}, '2026-11-23T06:05:00Z')).toBe(true);
    expect(holds(when('local', 'time', 'equal', '23:45'), {}, '2026-11-23T20:45:00Z')).toBe(true);
    expect(holds(when('local', 'quiet', 'equal', false))).toBe(true);
    expect(holds(when('local', 'quiet', 'equal', true), {}, '2026-11-23T19:00:00Z')).toBe(true);
  });
});

describe('contact facts', () => {
  it('reachable: the channels the contact has an address for', () => {
    const rs = when('contact', 'reachable.email', 'equal', true);
    expect(holds(rs)).toBe(true);
    expect(holds(rs, { contact: contact({ identities: [{ kind: 'phone', value: '+254700000001' }] }) })).toBe(false);
  });
  it('engagement rates: read per delivered, delivered per sent, zero when nothing was delivered or sent', () => {
    const e = (sent: number, delivered: number, read: number): ContactInput =>
      contact({ engagement: { sms: { sent, delivered, read, replied: 0 } } });
    expect(holds(when('contact', 'engagement.sms.readRate', 'equal', 0.25), { contact: e(8, 4, 1) })).toBe(true);
    expect(holds(when('contact', 'engagement.sms.deliveryRate', 'equal', 0.5), { contact: e(8, 4, 1) })).toBe(true);
    expect(holds(when('contact', 'engagement.sms.readRate', 'equal', 0), { contact: e(8, 0, 0) })).toBe(true);
    expect(holds(when('contact', 'engagement.sms.deliveryRate', 'equal', 0), { contact: e(0, 0, 0) })).toBe(true);
    expect(holds(when('contact', 'engagement.sms.sent', 'equal', 8), { contact: e(8, 0, 0) })).toBe(true);
  });
  it('vulnerable is false unless flagged, and the zone is the one decided on', () => {
    expect(holds(when('contact', 'vulnerable', 'equal', false))).toBe(true);
    expect(holds(when('contact', 'timezone', 'equal', 'Africa/Nairobi'), { contact: { ...contact(), timezone: undefined } })).toBe(true);
  });
  it('consent per channel and purpose', () => {
    const rs = when('consent', 'email.marketing', 'equal', true);
    expect(holds(rs, { consent: [EMAIL_OPT_IN] })).toBe(true);
    expect(holds(rs, { consent: [EMAIL_OPT_IN, consent('email', 'marketing', 'revoked')] })).toBe(false);
    expect(holds(when('consent', 'sms.service', 'equal', true), { consent: [] })).toBe(true);
  });
});

describe('message and market facts', () => {
  it('rich is false unless set, purpose comes from the type', () => {
    expect(holds(when('message', 'rich', 'equal', false))).toBe(true);
    expect(holds(when('message', 'purpose', 'equal', 'transactional'))).toBe(true);
    expect(holds(when('message', 'priority', 'equal', 'normal'))).toBe(true);
  });
  it('a market the ruleset does not declare has no feature phones and no messenger', () => {
    const fr = { contact: contact({ market: 'FR', timezone: 'Europe/Paris' }) };
    expect(holds(when('market', 'featurePhone', 'equal', false), fr)).toBe(true);
    expect(holds(when('market', 'code', 'equal', 'FR'), fr)).toBe(true);
    expect(holds(when('market', 'primaryMessenger', 'equal', null), fr)).toBe(true);
    expect(holds(when('market', 'primaryMessenger', 'equal', 'whatsapp'))).toBe(true);
  });
});

describe("the ruleset's zone (quietHours.timezone)", () => {
  const berlin = ruleset([], { patch: (doc) => ((doc.quietHours as Record<string, unknown>).timezone = 'Europe/Berlin') });
  const req = parseMessageRequest({ type: 'promotional' });
  // 05:30 in Berlin, 04:30 UTC: both inside quiet hours (08:00-21:00)
  const early = Date.parse('2026-11-23T04:30:00Z');

  it('times a contact with neither a zone nor a market (an e-mail-only contact), and says the zone was assumed', () => {
    const ctx = parseDecisionContext({
      contact: contact({ market: undefined, timezone: undefined, identities: [{ kind: 'email', value: 'a@example.com' }] }),
      consent: [EMAIL_OPT_IN],
    });
    const d = decideParsed(req, ctx, berlin, early);
    expect(d.sendAt).toBe('2026-11-23T07:00:00.000Z'); // 08:00 in Berlin
    expect(reasonsOf(d, 'timezone_assumed')[0]?.message).toBe('contact has no valid time zone; using Europe/Berlin');
    // without one, UTC, as before
    expect(decideParsed(req, ctx, ruleset([]), early).sendAt).toBe('2026-11-23T08:00:00.000Z');
  });

  it("comes after the contact's own zone and its market's", () => {
    const own = parseDecisionContext({ contact: contact({ market: undefined, timezone: 'Asia/Tokyo' }), consent: [EMAIL_OPT_IN] });
    expect(reasonsOf(decideParsed(req, own, berlin, early), 'timezone_assumed')).toEqual([]);
    const market = parseDecisionContext({ contact: contact({ timezone: undefined }), consent: [EMAIL_OPT_IN] });
    expect(reasonsOf(decideParsed(req, market, berlin, early), 'timezone_assumed')[0]?.message).toContain('Africa/Nairobi');
  });
});

describe('a zone that is not valid (records trusted without validation)', () => {
  it("falls back to the market's zone and says the zone was assumed", () => {
    const req = parseMessageRequest({ type: 'transactional' });
    const ctx = parseDecisionContext({ contact: contact() });
    ctx.contact.timezone = 'Mars/Olympus_Mons';
    const d = decideParsed(req, ctx, ruleset([]), Date.parse('2026-11-23T04:30:00Z')); // 07:30 Nairobi
    expect(d.sendAt).toBe('2026-11-23T05:00:00.000Z');
    expect(reasonsOf(d, 'timezone_assumed')[0]?.message).toBe('contact has no valid time zone; using Africa/Nairobi');
    ctx.contact.market = undefined;
    expect(reasonsOf(decideParsed(req, ctx, ruleset([]), NOW), 'timezone_assumed')[0]?.message).toContain('using UTC');
  });
});
