import { describe, expect, it } from 'vitest';
import type { SentRecord } from '../model/context.js';
import { codes, consent, contact, EMAIL_OPT_IN, MORNING_KE, reasonsOf, rule, ruleset, run, steps } from '../testing/decide-kit.js';

const NOW = Date.parse(MORNING_KE); // 10:00 Nairobi
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const H = 3_600_000;
const promo = (at: string, extra: Partial<SentRecord> = {}): SentRecord => ({ at, type: 'promotional', ...extra });

describe('the contact-pressure caps count a rolling window', () => {
  it('a promo sent exactly 24 h ago no longer counts for the daily cap; one a minute younger does', () => {
    expect(run({ type: 'promotional' }, { history: [promo(ago(24 * H))] }).outcome).toBe('send');
    const d = run({ type: 'promotional' }, { history: [promo(ago(24 * H - 60_000))] });
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe(new Date(NOW + 60_000).toISOString());
  });
  it('a promo sent at this very instant counts; one dated after now does not', () => {
    expect(run({ type: 'promotional' }, { history: [promo(MORNING_KE)] }).outcome).toBe('defer');
    expect(run({ type: 'promotional' }, { history: [promo(new Date(NOW + 1000).toISOString())] }).outcome).toBe('send');
  });
  it('the weekly cap: three promos inside 7 days suppress, one of them exactly 7 days old does not count', () => {
    const week = 7 * 24 * H;
    const two = [promo(ago(2 * 24 * H)), promo(ago(3 * 24 * H))];
    expect(run({ type: 'promotional' }, { history: [...two, promo(ago(week))] }).outcome).toBe('send');
    const d = run({ type: 'promotional' }, { history: [...two, promo(ago(week - 60_000))] });
    expect(d.outcome).toBe('suppress');
    expect(d.plan).toEqual([]);
    expect(d.sendAt).toBeNull();
    expect(reasonsOf(d, 'cap_exceeded').map((r) => r.message)).toEqual([
      'promo-weekly: 3 promotional message(s) in the last week, limit 3',
    ]);
  });
  it('a pending message of lower priority gives way to a more important one; a sent one, or one as important, does not', () => {
    const pendingLow = promo(ago(H), { pending: true, priority: 'low', team: 'regional' });
    const high = run({ type: 'promotional', priority: 'high', team: 'marketing' }, { history: [pendingLow] });
    expect(high.outcome).toBe('send');
    expect(reasonsOf(high, 'cap').map((r) => r.message)).toEqual([
      'promo-daily: 1 message(s) of lower priority not sent yet give way to this high one',
      'promo-weekly: 1 message(s) of lower priority not sent yet give way to this high one',
    ]);
    // already sent: the budget is spent, whatever its priority
    expect(run({ type: 'promotional', priority: 'high' }, { history: [promo(ago(H), { pending: false, priority: 'low' })] }).outcome).toBe(
      'defer',
    );
    // as important, or more: first come, first served
    expect(
      run({ type: 'promotional', priority: 'normal' }, { history: [promo(ago(H), { pending: true, priority: 'normal' })] }).outcome,
    ).toBe('defer');
    expect(run({ type: 'promotional', priority: 'low' }, { history: [promo(ago(H), { pending: true, priority: 'high' })] }).outcome).toBe(
      'defer',
    );
  });
  it('only records of the capped types count', () => {
    const other = [
      { at: ago(H), type: 'transactional' as const },
      { at: ago(2 * H), type: 'service' as const },
    ];
    expect(run({ type: 'promotional' }, { history: other }).outcome).toBe('send');
  });
  it('the reason names the cap, the count, the teams that spent the budget and the team held back', () => {
    const d = run(
      { type: 'promotional', team: 'regional' },
      { history: [promo(ago(2 * H), { team: 'sales' }), promo(ago(3 * H), { team: 'marketing' })] },
    );
    expect(reasonsOf(d, 'cap_exceeded').map((r) => r.message)).toEqual([
      `promo-daily: 2 promotional message(s) in the last day, limit 1 (sent by marketing, sales); held back for team regional; deferred until ${new Date(
        NOW + 22 * H,
      ).toISOString()}`,
    ]);
    // one of them decided and waiting to go (deferred): counted, and said so
    const waiting = run(
      { type: 'promotional', team: 'support' },
      { history: [promo(ago(2 * H), { team: 'marketing' }), promo(ago(H), { team: 'regional', pending: true, priority: 'normal' })] },
    );
    expect(reasonsOf(waiting, 'cap_exceeded')[0]?.message).toBe(
      `promo-daily: 2 promotional message(s) in the last day, 1 of them not sent yet, limit 1 (sent or waiting to go by marketing, regional); held back for team support; deferred until ${new Date(
        NOW + 23 * H,
      ).toISOString()}`,
    );
    const anonymous = run({ type: 'promotional' }, { history: [promo(ago(2 * H))] });
    expect(reasonsOf(anonymous, 'cap_exceeded')[0]?.message).toBe(
      `promo-daily: 1 promotional message(s) in the last day, limit 1; deferred until ${new Date(NOW + 22 * H).toISOString()}`,
    );
  });
});

describe('a deferring cap frees the send when enough counted messages have aged out', () => {
  // at most 2 transactional messages a day, from records given out of order
  const rs = ruleset([], {
    patch: (doc) => {
      doc.caps = [{ id: 'tx-2', messageTypes: ['transactional'], max: 2, per: 'day', onExceed: 'defer' }];
    },
  });
  const at08 = '2026-11-23T05:00:00Z'; // 08:00 Nairobi
  const t08 = Date.parse(at08);
  const back = (h: number) => ({ at: new Date(t08 - h * H).toISOString(), type: 'transactional' as const });
  it('four records 12, 22, 3 and 20 hours old: the send waits until only one is left in the window (12 h from now)', () => {
    const d = run({ type: 'transactional' }, { history: [back(12), back(22), back(3), back(20)] }, at08, rs);
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe(new Date(t08 + 12 * H).toISOString()); // 20:00 Nairobi, still inside the window
    expect(reasonsOf(d, 'cap_exceeded')[0]?.message).toContain('tx-2: 4 transactional message(s) in the last day, limit 2');
  });
  it('below the limit nothing waits', () => {
    expect(run({ type: 'transactional' }, { history: [back(12)] }, at08, rs).outcome).toBe('send');
  });
});

describe('caps on channels drop those channels instead of holding the message', () => {
  const rs = ruleset([], {
    patch: (doc) => {
      doc.caps = [{ id: 'sms-daily', channels: ['sms'], max: 1, per: 'day' }];
    },
  });
  it('an SMS in the last day takes SMS out of an OTP plan; voice carries it', () => {
    const d = run({ type: 'otp' }, { history: [{ at: ago(H), type: 'service', channel: 'sms' }] }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:voice']);
    const sms = d.reasons.find((r) => r.channel === 'sms');
    expect([sms?.stage, sms?.code, sms?.message]).toEqual(['guards', 'cap', 'sms-daily: 1 any message(s) in the last day, limit 1']);
  });
  it('records on other channels, or on no channel, do not count', () => {
    const history = [
      { at: ago(H), type: 'service' as const, channel: 'email' },
      { at: ago(H), type: 'service' as const },
    ];
    expect(steps(run({ type: 'otp' }, { history }, MORNING_KE, rs))).toEqual(['primary:sms', 'fallback:voice']);
  });
});

describe('guard rules', () => {
  it('a cap rule adds a cap of its own for the types it names', () => {
    const rs = ruleset([
      rule('one-service-a-week', 'guards', ['service'], {
        type: 'cap',
        params: { id: 'svc-weekly', max: 1, per: 'week', onExceed: 'suppress' },
      }),
    ]);
    const history = [{ at: ago(3 * 24 * H), type: 'service' as const }];
    const d = run({ type: 'service' }, { history }, MORNING_KE, rs);
    expect(d.outcome).toBe('suppress');
    expect(reasonsOf(d, 'cap_exceeded')[0]?.message).toContain('svc-weekly');
    expect(run({ type: 'service' }, { history }).outcome).toBe('send');
  });
  it('a caps bypass lifts every cap and says so', () => {
    const rs = ruleset([rule('vip-no-caps', 'guards', ['promotional'], { type: 'bypass', params: { guard: 'caps' } })]);
    const d = run({ type: 'promotional' }, { history: [promo(ago(H)), promo(ago(2 * H)), promo(ago(3 * H))] }, MORNING_KE, rs);
    expect(d.outcome).toBe('send');
    expect(reasonsOf(d, 'cap').map((r) => r.message)).toEqual(['contact-pressure caps bypassed by rule']);
    expect(codes(d)).not.toContain('cap_exceeded');
  });
  it('suppress wins over review, whichever fires first', () => {
    const suppressFirst = ruleset([
      rule('stop-it', 'guards', ['service'], { type: 'suppress', params: { reason: 'stopped' } }, 100),
      rule('look-at-it', 'guards', ['service'], { type: 'review', params: { reason: 'look' } }, 1),
    ]);
    const a = run({ type: 'service' }, {}, MORNING_KE, suppressFirst);
    expect(a.outcome).toBe('suppress');
    expect(codes(a)).toEqual(expect.arrayContaining(['suppressed', 'review']));
    // the built-in order: vulnerable collections review (priority 100), paid invoice suppress (90)
    const b = run(
      { type: 'service', category: 'payment_reminder' },
      { contact: contact({ vulnerable: true }), object: { status: 'paid' } },
    );
    expect(b.outcome).toBe('suppress');
    expect(b.plan).toEqual([]);
  });
  it('a suppressed message is not also counted against the caps', () => {
    const d = run(
      { type: 'promotional' },
      {
        history: [promo(ago(H))],
        events: [{ type: 'ticket.opened', at: ago(H) }],
      },
    );
    expect(d.outcome).toBe('suppress');
    expect(codes(d)).not.toContain('cap_exceeded');
    expect(reasonsOf(d, 'suppressed')[0]?.message).toBe('support ticket open');
  });
  it('review keeps the plan a reviewer would approve, and its send time', () => {
    const d = run({ type: 'service', category: 'collections' }, { contact: contact({ vulnerable: true }), consent: [EMAIL_OPT_IN] });
    expect(d.outcome).toBe('review');
    expect(steps(d)).toEqual(['primary:sms']);
    expect(d.sendAt).toBe(new Date(NOW).toISOString());
    expect(reasonsOf(d, 'review')[0]?.rule).toBe('vulnerable-collections-review');
  });
  it('an OTP is not held by consent for marketing or by the promotional caps', () => {
    const d = run(
      { type: 'otp' },
      { history: [promo(ago(H)), promo(ago(2 * H)), promo(ago(3 * H))], consent: [consent('*', 'marketing', 'revoked')] },
    );
    expect(d.outcome).toBe('send');
  });
});
