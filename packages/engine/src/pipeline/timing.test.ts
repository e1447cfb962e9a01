import { describe, expect, it } from 'vitest';
import { codes, contact, EMAIL_OPT_IN, firedRules, readsAt, reasonsOf, rule, ruleset, run } from '../testing/decide-kit.js';

// Nairobi is UTC+3 all year; the default window there is 08:00–21:00.
const at = (local: string) => {
  const [h, m] = local.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(2026, 10, 23, h - 3, m)).toISOString();
};
const nairobi = (day: number, local: string) => {
  const [h, m] = local.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(2026, 10, day, h - 3, m)).toISOString();
};

describe('quiet hours at their edges (08:00–21:00 Nairobi)', () => {
  it('sends at exactly 08:00 and at 20:59; defers at 07:59 and at exactly 21:00', () => {
    expect(run({ type: 'transactional' }, {}, at('08:00')).outcome).toBe('send');
    expect(run({ type: 'transactional' }, {}, at('20:59')).outcome).toBe('send');
    const early = run({ type: 'transactional' }, {}, at('07:59'));
    expect([early.outcome, early.sendAt]).toEqual(['defer', nairobi(23, '08:00')]);
    const late = run({ type: 'transactional' }, {}, at('21:00'));
    expect([late.outcome, late.sendAt]).toEqual(['defer', nairobi(24, '08:00')]);
    const reason = reasonsOf(late, 'quiet_hours')[0];
    expect(reason?.stage).toBe('guards');
    expect(reason?.message).toContain('08:00 Africa/Nairobi');
  });

  it('a daytime message goes now and says nothing about quiet hours, whatever the best hour', () => {
    for (const type of ['promotional', 'service', 'transactional'] as const) {
      const d = run({ type }, { contact: contact({ readHours: readsAt(15) }) }, at('10:00'));
      expect(d.outcome).toBe('send');
      expect(d.sendAt).toBe(at('10:00'));
      expect(codes(d)).not.toContain('quiet_hours');
      expect(codes(d)).not.toContain('best_hour');
      expect(codes(d)).not.toContain('deferred');
    }
  });

  it('windows that start and end off the hour are read to the minute', () => {
    const rs = ruleset([], {
      patch: (doc) => (doc.quietHours = { ...(doc.quietHours as object), default: { start: '08:30', end: '20:45' } }),
    });
    expect(run({ type: 'transactional' }, {}, at('08:30'), rs).outcome).toBe('send');
    expect(run({ type: 'transactional' }, {}, at('08:29'), rs).sendAt).toBe(nairobi(23, '08:30'));
    expect(run({ type: 'transactional' }, {}, at('20:44'), rs).outcome).toBe('send');
    expect(run({ type: 'transactional' }, {}, at('20:45'), rs).sendAt).toBe(nairobi(24, '08:30'));
  });

  it('an allowed window across midnight (20:00–04:00) opens at its start and closes at its end', () => {
    const rs = ruleset([], {
      patch: (doc) => (doc.quietHours = { ...(doc.quietHours as object), default: { start: '20:00', end: '04:00' } }),
    });
    expect(run({ type: 'transactional' }, {}, at('20:00'), rs).outcome).toBe('send');
    expect(run({ type: 'transactional' }, {}, at('03:59'), rs).outcome).toBe('send');
    expect(run({ type: 'transactional' }, {}, at('04:00'), rs).sendAt).toBe(nairobi(23, '20:00'));
    expect(run({ type: 'transactional' }, {}, at('19:59'), rs).sendAt).toBe(nairobi(23, '20:00'));
    // a best hour after midnight is on the night the window opens, i.e. the next calendar day
    const promo = run({ type: 'promotional' }, { contact: contact({ readHours: readsAt(2) }) }, at('12:00'), rs);
    expect(promo.sendAt).toBe(nairobi(24, '02:00'));
    const evening = run({ type: 'promotional' }, { contact: contact({ readHours: readsAt(22) }) }, at('12:00'), rs);
    expect(evening.sendAt).toBe(nairobi(23, '22:00'));
  });
});

describe('the best hour', () => {
  it('only the configured types (promotional, service) wait for it; others go at the opening', () => {
    const c = contact({ readHours: readsAt(11), capabilities: { whatsapp: true }, lastInbound: { whatsapp: nairobi(22, '23:00') } });
    const promo = run({ type: 'promotional' }, { contact: c }, at('05:00'));
    expect(promo.sendAt).toBe(nairobi(23, '11:00'));
    expect(reasonsOf(promo, 'quiet_hours')[0]?.message).toContain("the contact's best hour (11:00)");
    const service = run({ type: 'service', template: 'x' }, { contact: c }, at('05:00'));
    expect(service.sendAt).toBe(nairobi(23, '11:00'));
    for (const type of ['transactional', 'rich'] as const) {
      const d = run({ type }, { contact: c }, at('05:00'));
      expect(d.sendAt).toBe(nairobi(23, '08:00'));
      expect(reasonsOf(d, 'quiet_hours')[0]?.message).not.toContain('best hour');
    }
  });
  it('a best hour outside the window is ignored: the message goes at the opening', () => {
    const d = run({ type: 'promotional' }, { contact: contact({ readHours: readsAt(23) }) }, at('22:00'));
    expect(d.sendAt).toBe(nairobi(24, '08:00'));
  });
  it('fewer than three reads give no best hour', () => {
    const few = Array.from({ length: 24 }, (_, h) => (h === 11 ? 2 : 0));
    expect(run({ type: 'promotional' }, { contact: contact({ readHours: few }) }, at('22:00')).sendAt).toBe(nairobi(24, '08:00'));
  });
});

describe('defer rules', () => {
  it('defer N minutes (timing stage) holds the message and says until when; the longest deferral wins', () => {
    const rs = ruleset([
      rule('cool-down', 'timing', ['service'], { type: 'defer', params: { minutes: 30 } }),
      rule('short', 'timing', ['service'], { type: 'defer', params: { minutes: 5 } }),
    ]);
    const d = run({ type: 'service' }, {}, at('10:00'), rs);
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe(at('10:30'));
    expect(firedRules(d).filter((r) => r !== 'service-whatsapp-sms')).toEqual(['cool-down', 'short']);
    expect(reasonsOf(d, 'deferred')[0]?.message).toContain('10:30 Africa/Nairobi');
    expect(reasonsOf(d, 'deferred')[0]?.stage).toBe('timing');
    expect(run({ type: 'transactional' }, {}, at('10:00'), rs).outcome).toBe('send');
  });
  it('defer N minutes (guards stage) too, and a deferral into quiet hours waits for the opening', () => {
    const rs = ruleset([rule('settle', 'guards', ['transactional'], { type: 'defer', params: { minutes: 90 } })]);
    expect(run({ type: 'transactional' }, {}, at('10:00'), rs).sendAt).toBe(at('11:30'));
    const late = run({ type: 'transactional' }, {}, at('20:00'), rs);
    expect(late.sendAt).toBe(nairobi(24, '08:00'));
    expect(codes(late)).toEqual(expect.arrayContaining(['deferred', 'quiet_hours']));
  });

  describe('defer until the best hour', () => {
    const rs = ruleset([rule('best-hour', 'timing', ['transactional'], { type: 'defer', params: { until: 'bestHour' } })]);
    it('inside allowed hours, waits for a best hour still ahead today', () => {
      const d = run({ type: 'transactional' }, { contact: contact({ readHours: readsAt(15) }) }, at('10:00'), rs);
      expect(d.outcome).toBe('defer');
      expect(d.sendAt).toBe(at('15:00'));
      expect(reasonsOf(d, 'best_hour')[0]?.message).toContain('15:00 Africa/Nairobi');
      expect(reasonsOf(d, 'best_hour')[0]?.stage).toBe('timing');
    });
    it('inside allowed hours past the best hour, goes now and says why: it never waits a day', () => {
      const d = run({ type: 'transactional' }, { contact: contact({ readHours: readsAt(9) }) }, at('10:00'), rs);
      expect(d.outcome).toBe('send');
      expect(d.sendAt).toBe(at('10:00'));
      expect(reasonsOf(d, 'best_hour')[0]?.message).toContain('not held for the next day');
      expect(reasonsOf(d, 'best_hour')[0]?.stage).toBe('timing');
    });
    it('at the best hour itself, goes now', () => {
      const d = run({ type: 'transactional' }, { contact: contact({ readHours: readsAt(10) }) }, at('10:00'), rs);
      expect([d.outcome, d.sendAt]).toEqual(['send', at('10:00')]);
    });
    it('from quiet hours, aims for the best hour even for a type not configured for it', () => {
      const d = run({ type: 'transactional' }, { contact: contact({ readHours: readsAt(14) }) }, at('22:00'), rs);
      expect(d.sendAt).toBe(nairobi(24, '14:00'));
    });
    it('without a best hour, changes nothing', () => {
      const d = run({ type: 'transactional' }, {}, at('10:00'), rs);
      expect([d.outcome, d.sendAt]).toEqual(['send', at('10:00')]);
      expect(codes(d)).not.toContain('best_hour');
    });
  });

  it('defer until the window start: from quiet hours, the opening rather than the best hour', () => {
    const rs = ruleset([rule('opening', 'guards', ['promotional'], { type: 'defer', params: { until: 'windowStart' } })]);
    const c = contact({ readHours: readsAt(15) });
    expect(run({ type: 'promotional' }, { contact: c }, at('22:00'), rs).sendAt).toBe(nairobi(24, '08:00'));
    expect(run({ type: 'promotional' }, { contact: c }, at('10:00'), rs).sendAt).toBe(at('10:00'));
    // without the rule the promo waits for the best hour
    expect(run({ type: 'promotional' }, { contact: c }, at('22:00')).sendAt).toBe(nairobi(24, '15:00'));
  });
});

describe('bypasses', () => {
  it('a quiet-hours bypass sends inside quiet hours and says so', () => {
    const rs = ruleset([rule('night-ok', 'guards', ['promotional'], { type: 'bypass', params: { guard: 'quietHours' } })]);
    const d = run({ type: 'promotional' }, {}, at('23:00'), rs);
    expect([d.outcome, d.sendAt]).toEqual(['send', at('23:00')]);
    expect(reasonsOf(d, 'quiet_hours_bypassed')[0]?.message).toContain('23:00 Africa/Nairobi');
    expect(reasonsOf(d, 'quiet_hours_bypassed')[0]?.stage).toBe('timing');
  });
  it('a caps bypass is not a quiet-hours bypass', () => {
    const rs = ruleset([rule('no-caps', 'guards', ['promotional'], { type: 'bypass', params: { guard: 'caps' } })]);
    const d = run({ type: 'promotional' }, {}, at('23:00'), rs);
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe(nairobi(24, '08:00'));
    expect(codes(d)).not.toContain('quiet_hours_bypassed');
  });
  it('a quiet-hours bypass does not bypass the caps', () => {
    const rs = ruleset([rule('night-ok', 'guards', ['promotional'], { type: 'bypass', params: { guard: 'quietHours' } })]);
    const d = run({ type: 'promotional' }, { history: [{ at: nairobi(23, '09:00'), type: 'promotional' }] }, at('10:00'), rs);
    expect(d.outcome).toBe('defer');
    expect(codes(d)).toContain('cap_exceeded');
  });
});

describe('the zone', () => {
  it("a contact without a zone gets the market's, and the reason says which", () => {
    const d = run({ type: 'transactional' }, { contact: { ...contact(), timezone: undefined } }, at('07:00'));
    expect(d.sendAt).toBe(nairobi(23, '08:00'));
    expect(reasonsOf(d, 'timezone_assumed')[0]?.message).toContain('Africa/Nairobi');
    expect(reasonsOf(d, 'timezone_assumed')[0]?.stage).toBe('timing');
  });
  it('a contact with neither zone nor market is in UTC', () => {
    const d = run({ type: 'transactional' }, { contact: { ...contact(), timezone: undefined, market: undefined } }, '2026-11-23T07:30:00Z');
    expect(d.sendAt).toBe('2026-11-23T08:00:00.000Z');
    expect(reasonsOf(d, 'timezone_assumed')[0]?.message).toContain('UTC');
  });
  it('a contact with a zone of its own is not flagged', () => {
    expect(codes(run({ type: 'transactional' }, { consent: [EMAIL_OPT_IN] }))).not.toContain('timezone_assumed');
  });
});
