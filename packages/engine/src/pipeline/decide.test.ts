import { describe, expect, it } from 'vitest';
import { EngineInputError } from '../errors.js';
import type { ConsentRecord } from '../model/consent.js';
import type { ContactInput } from '../model/contact.js';
import type { DecisionContextInput } from '../model/context.js';
import type { Decision } from '../model/decision.js';
import type { MessageRequestInput } from '../model/message.js';
import { defaultCompiledRuleset } from '../testing/default-ruleset.js';
import { decide } from './decide.js';

const rs = defaultCompiledRuleset();
// 10:00 in Nairobi (UTC+3)
const MORNING_KE = '2026-11-23T07:00:00Z';

function contact(over: Partial<ContactInput> = {}): ContactInput {
  return {
    id: 'c-1',
    market: 'KE',
    timezone: 'Africa/Nairobi',
    smartphone: true,
    identities: [
      { kind: 'phone', value: '+254700000001' },
      { kind: 'email', value: 'amina@example.com' },
    ],
    ...over,
  };
}

// marketing is opt-in in the default ruleset: this contact opted in to email marketing
const EMAIL_OPT_IN: ConsentRecord = {
  channel: 'email',
  purpose: 'marketing',
  status: 'granted',
  source: 'crm',
  at: '2026-01-01T00:00:00Z',
};

function run(req: MessageRequestInput, ctx: Partial<DecisionContextInput> = {}, now: string = MORNING_KE): Decision {
  return decide(req, { contact: contact(), consent: [EMAIL_OPT_IN], ...ctx }, rs, now);
}

const channels = (d: Decision) => d.plan.map((s) => `${s.mode}:${s.channel}`);
const dropped = (d: Decision, channel: string) => d.reasons.find((r) => r.channel === channel && r.code !== 'content_adapted')?.code;
function consent(
  channel: string,
  purpose: ConsentRecord['purpose'],
  status: ConsentRecord['status'],
  at = '2026-11-01T00:00:00Z',
): ConsentRecord {
  return { channel, purpose, status, source: 'keyword', at };
}

describe('1. OTP/transactional: SMS first, voice if SMS fails; OTP and urgent pass quiet hours', () => {
  it('plans SMS then voice after the SMS timeout', () => {
    const d = run({ type: 'otp', template: 'otp' });
    expect(d.outcome).toBe('send');
    expect(channels(d)).toEqual(['primary:sms', 'fallback:voice']);
    expect(d.plan[0]?.timeoutMinutes).toBe(2);
    expect(d.plan[1]?.after).toBe(0);
    expect(d.plan[1]?.sendAt).toBe('2026-11-23T07:02:00.000Z');
  });
  it('transactional waits 30 minutes for the SMS before calling', () => {
    const d = run({ type: 'transactional' });
    expect(channels(d)).toEqual(['primary:sms', 'fallback:voice']);
    expect(d.plan[0]?.timeoutMinutes).toBe(30);
  });
  it('an OTP at 03:00 local goes at once', () => {
    const d = run({ type: 'otp' }, {}, '2026-11-23T00:00:00Z');
    expect(d.outcome).toBe('send');
    expect(d.sendAt).toBe('2026-11-23T00:00:00.000Z');
    expect(d.reasons.map((r) => r.code)).toContain('quiet_hours_bypassed');
  });
  it('a transactional message at 03:00 local waits for 08:00', () => {
    const d = run({ type: 'transactional' }, {}, '2026-11-23T00:00:00Z');
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe('2026-11-23T05:00:00.000Z');
  });
});

describe('2. Service: WhatsApp first with consent, SMS if not delivered within 15 minutes', () => {
  const wa = contact({ capabilities: { whatsapp: true } });
  it('WhatsApp then SMS after 15 minutes', () => {
    const d = decide({ type: 'service', template: 'order_update' }, { contact: wa }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(d.plan[0]?.timeoutMinutes).toBe(15);
    expect(d.plan[1]?.sendAt).toBe('2026-11-23T07:15:00.000Z');
  });
  it('no WhatsApp consent for service → SMS only, and the reason says so', () => {
    const d = decide(
      { type: 'service', template: 'order_update' },
      { contact: wa, consent: [consent('whatsapp', 'service', 'revoked')] },
      rs,
      MORNING_KE,
    );
    expect(channels(d)).toEqual(['primary:sms']);
    expect(dropped(d, 'whatsapp')).toBe('no_consent');
  });
  it('free-form WhatsApp outside the 24 h session window is dropped; inside it is used', () => {
    const outside = decide({ type: 'service' }, { contact: wa }, rs, MORNING_KE);
    expect(dropped(outside, 'whatsapp')).toBe('session_window');
    const inside = decide({ type: 'service' }, { contact: { ...wa, lastInbound: { whatsapp: '2026-11-23T05:00:00Z' } } }, rs, MORNING_KE);
    expect(inside.plan[0]?.channel).toBe('whatsapp');
  });
});

describe('3. Rich: RCS where capable, else WhatsApp, else SMS with plain text + link', () => {
  it('RCS-capable handset → RCS with rich content', () => {
    const d = decide(
      { type: 'rich', template: 'order_card', rich: true },
      { contact: contact({ market: 'IN', timezone: 'Asia/Kolkata', capabilities: { rcs: true, whatsapp: true } }) },
      rs,
      '2026-11-23T06:00:00Z',
    );
    expect(channels(d)).toEqual(['primary:rcs', 'fallback:whatsapp', 'fallback:sms']);
    expect(d.plan.map((s) => s.content)).toEqual(['rich', 'rich', 'text+link']);
  });
  it('no RCS → WhatsApp → SMS', () => {
    const d = decide({ type: 'rich', template: 'order_card' }, { contact: contact({ capabilities: { whatsapp: true } }) }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(dropped(d, 'rcs')).toBe('not_capable');
  });
  it('neither → SMS with adapted content', () => {
    const d = run({ type: 'rich', template: 'order_card', rich: true });
    expect(channels(d)).toEqual(['primary:sms']);
    expect(d.plan[0]?.content).toBe('text+link');
    expect(d.reasons.some((r) => r.code === 'content_adapted' && r.channel === 'sms')).toBe(true);
  });
});

describe('4. Urgent: a voice call plus an SMS follow-up', () => {
  it('voice now and SMS two minutes later, whatever the call does', () => {
    const d = run({ type: 'urgent' });
    expect(channels(d)).toEqual(['primary:voice', 'also:sms']);
    expect(d.plan[1]?.after).toBe(0);
    expect(d.plan[1]?.sendAt).toBe('2026-11-23T07:02:00.000Z');
    expect(d.estimatedCost).toBeCloseTo(0.03 + 0.008, 6);
  });
  it('no voice consent → the SMS carries it alone', () => {
    const d = run({ type: 'urgent' }, { consent: [consent('voice', 'transactional', 'revoked')] });
    expect(channels(d)).toEqual(['primary:sms']);
  });
});

describe('5. Promotional: email by default; WhatsApp for engaged contacts with WhatsApp marketing consent', () => {
  const engaged = contact({ capabilities: { whatsapp: true }, engagement: { whatsapp: { sent: 10, delivered: 10, read: 8, replied: 1 } } });
  it('no marketing consent anywhere → nothing goes (marketing is opt-in)', () => {
    const d = decide({ type: 'promotional', template: 'promo' }, { contact: contact() }, rs, MORNING_KE);
    expect(d.outcome).toBe('suppress');
    expect(dropped(d, 'email')).toBe('no_consent');
  });
  it('email by default', () => {
    const d = run({ type: 'promotional', template: 'promo' });
    expect(channels(d)).toEqual(['primary:email']);
  });
  it('engaged + WhatsApp marketing consent → WhatsApp, then email', () => {
    const d = decide(
      { type: 'promotional', template: 'promo' },
      { contact: engaged, consent: [EMAIL_OPT_IN, consent('whatsapp', 'marketing', 'granted')] },
      rs,
      MORNING_KE,
    );
    expect(channels(d)).toEqual(['primary:whatsapp', 'fallback:email']);
  });
  it('engaged without WhatsApp marketing consent → email only', () => {
    const d = decide({ type: 'promotional', template: 'promo' }, { contact: engaged, consent: [EMAIL_OPT_IN] }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:email']);
    expect(dropped(d, 'whatsapp')).toBe('no_consent');
  });
  it('a barely engaged contact gets email even with consent', () => {
    const cold = contact({ capabilities: { whatsapp: true }, engagement: { whatsapp: { sent: 10, delivered: 10, read: 1, replied: 0 } } });
    const d = decide(
      { type: 'promotional', template: 'promo' },
      { contact: cold, consent: [EMAIL_OPT_IN, consent('whatsapp', 'marketing', 'granted')] },
      rs,
      MORNING_KE,
    );
    expect(channels(d)).toEqual(['primary:email']);
  });
});

describe('6. Feature phones and Viber markets', () => {
  it('feature phone in Kenya → USSD then SMS (cheapest first)', () => {
    const d = decide({ type: 'service', template: 'vaccination' }, { contact: contact({ smartphone: false }) }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:ussd', 'fallback:sms']);
  });
  it('smartphone in Kenya never gets USSD', () => {
    const d = decide(
      { type: 'service', template: 'x' },
      { contact: contact({ smartphone: true, capabilities: { whatsapp: true } }) },
      rs,
      MORNING_KE,
    );
    expect(channels(d)).not.toContain('primary:ussd');
  });
  it('Ukraine: Viber first for Viber users', () => {
    const ua = contact({ market: 'UA', timezone: 'Europe/Kyiv', capabilities: { viber: true, whatsapp: true } });
    const d = decide({ type: 'service', template: 'x' }, { contact: ua }, rs, '2026-11-23T09:00:00Z');
    expect(channels(d)).toEqual(['primary:viber', 'fallback:whatsapp', 'fallback:sms']);
  });
  it('Germany has no USSD: a feature-phone contact there gets SMS', () => {
    const de = contact({ market: 'DE', timezone: 'Europe/Berlin', smartphone: false });
    const d = decide({ type: 'service', template: 'x' }, { contact: de }, rs, '2026-11-23T10:00:00Z');
    expect(channels(d)).toEqual(['primary:sms']);
  });
});

describe('7. Cost: among equivalent channels, cheapest first', () => {
  it('WhatsApp and Viber both possible: Viber is cheaper in Kenya and goes first', () => {
    const both = contact({ capabilities: { whatsapp: true, viber: true } });
    const d = decide({ type: 'service', template: 'x' }, { contact: both }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:viber', 'fallback:whatsapp', 'fallback:sms']);
    expect(d.plan[0]?.estimatedCost).toBe(0.01);
    expect(d.reasons.some((r) => r.code === 'ordered_by_cost')).toBe(true);
  });
  it('prices come from the market table, with the default for unknown markets', () => {
    const d = decide({ type: 'otp' }, { contact: contact({ market: 'JP', timezone: 'Asia/Tokyo' }) }, rs, '2026-11-23T01:00:00Z');
    expect(d.plan[0]?.estimatedCost).toBe(0.05);
    expect(rs.source.prices.example).toBe(true);
    expect(Object.keys(rs.source.prices.markets).length).toBeGreaterThanOrEqual(5);
  });
});

describe('8. Quiet hours 08:00–21:00 local, per-market overrides, best hour', () => {
  it('a promo at 22:30 local waits until the morning at the contact’s best hour', () => {
    const readsAt10 = Array.from({ length: 24 }, (_, h) => (h === 10 ? 9 : 0));
    // 22:30 Nairobi = 19:30Z
    const d = decide(
      { type: 'promotional', template: 'p' },
      { contact: contact({ readHours: readsAt10 }), consent: [EMAIL_OPT_IN] },
      rs,
      '2026-11-23T19:30:00Z',
    );
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe('2026-11-24T07:00:00.000Z'); // 10:00 Nairobi
  });
  it('without a best hour it goes at 08:00', () => {
    const d = run({ type: 'promotional', template: 'p' }, {}, '2026-11-23T19:30:00Z');
    expect(d.sendAt).toBe('2026-11-24T05:00:00.000Z');
  });
  it('Germany opens at 09:00', () => {
    const de = contact({ market: 'DE', timezone: 'Europe/Berlin' });
    const d = decide({ type: 'transactional' }, { contact: de }, rs, '2026-11-23T07:30:00Z'); // 08:30 Berlin
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe('2026-11-23T08:00:00.000Z'); // 09:00 Berlin
  });
  it('uses the market zone when the contact has none, and says so', () => {
    const d = decide({ type: 'transactional' }, { contact: { ...contact(), timezone: undefined } as ContactInput }, rs, MORNING_KE);
    expect(d.reasons.some((r) => r.code === 'timezone_assumed')).toBe(true);
    expect(d.outcome).toBe('send');
  });
});

describe('9. Contact-pressure budget shared by every team', () => {
  it('a second promo the same day, from another team, is deferred until the first ages out', () => {
    const d = run(
      { type: 'promotional', team: 'regional' },
      { history: [{ at: '2026-11-23T03:00:00Z', type: 'promotional', team: 'marketing' }] },
    );
    expect(d.outcome).toBe('defer');
    expect(d.sendAt).toBe('2026-11-24T05:00:00.000Z'); // freed at 03:00Z +24 h = 06:00 local, then quiet hours → 08:00
    const cap = d.reasons.find((r) => r.code === 'cap_exceeded');
    expect(cap?.message).toContain('promo-daily');
    expect(cap?.message).toContain('marketing');
    expect(cap?.message).toContain('regional');
  });
  it('a fourth promo in a week is dropped', () => {
    const h = ['2026-11-18T09:00:00Z', '2026-11-19T09:00:00Z', '2026-11-20T09:00:00Z'].map((at) => ({ at, type: 'promotional' as const }));
    const d = run({ type: 'promotional' }, { history: h });
    expect(d.outcome).toBe('suppress');
    expect(d.reasons.find((r) => r.code === 'cap_exceeded')?.message).toContain('promo-weekly');
  });
  it('service messages do not use the promotional budget', () => {
    const d = run({ type: 'transactional' }, { history: [{ at: '2026-11-23T06:00:00Z', type: 'promotional' }] });
    expect(d.outcome).toBe('send');
  });
});

describe('10. Suppression', () => {
  it('no promo while a ticket is open; fine again once it is closed', () => {
    const open = [{ type: 'ticket.opened', at: '2026-11-22T10:00:00Z', object: { type: 'ticket', id: 't1' } }];
    expect(run({ type: 'promotional' }, { events: open }).outcome).toBe('suppress');
    const closed = [...open, { type: 'ticket.closed', at: '2026-11-22T12:00:00Z', object: { type: 'ticket', id: 't1' } }];
    expect(run({ type: 'promotional' }, { events: closed }).outcome).toBe('send');
  });
  it('one closed ticket does not hide another still open', () => {
    const ev = [
      { type: 'ticket.opened', at: '2026-11-20T10:00:00Z', object: { type: 'ticket', id: 't1' } },
      { type: 'ticket.opened', at: '2026-11-21T10:00:00Z', object: { type: 'ticket', id: 't2' } },
      { type: 'ticket.closed', at: '2026-11-22T10:00:00Z', object: { type: 'ticket', id: 't1' } },
    ];
    expect(run({ type: 'promotional' }, { events: ev }).outcome).toBe('suppress');
  });
  it('no promo for 14 days after a complaint', () => {
    expect(run({ type: 'promotional' }, { events: [{ type: 'complaint.filed', at: '2026-11-10T07:00:00Z' }] }).outcome).toBe('suppress');
    expect(run({ type: 'promotional' }, { events: [{ type: 'complaint.filed', at: '2026-11-08T06:00:00Z' }] }).outcome).toBe('send');
  });
  it('a payment reminder for a paid invoice is never sent; another invoice’s reminder is', () => {
    const paid = [{ type: 'invoice.paid', at: '2026-11-22T10:00:00Z', object: { type: 'invoice', id: 'inv-1' } }];
    const req = (id: string): MessageRequestInput => ({ type: 'service', category: 'payment_reminder', object: { type: 'invoice', id } });
    expect(run(req('inv-1'), { events: paid }).outcome).toBe('suppress');
    expect(run(req('inv-2'), { events: paid }).outcome).toBe('send');
    expect(run(req('inv-3'), { object: { status: 'paid' } }).outcome).toBe('suppress');
  });
  it('a post-contact survey only about what the contact actually contacted us about', () => {
    const call = [{ type: 'call.completed', at: '2026-11-23T05:00:00Z', data: { topic: 'billing' } }];
    const survey = (topic: string): MessageRequestInput => ({ type: 'service', category: 'post_contact_survey', topic });
    expect(run(survey('billing'), { events: call }).outcome).toBe('send');
    const wrong = run(survey('broadband'), { events: call });
    expect(wrong.outcome).toBe('suppress');
    expect(wrong.reasons.find((r) => r.code === 'suppressed')?.rule).toBe('survey-only-about-real-contact');
    expect(run(survey('billing')).outcome).toBe('suppress'); // no contact at all: no survey
  });
});

describe('11. Sensitive cases go to human review', () => {
  it('collections to a vulnerable contact → review, with the plan a reviewer would approve', () => {
    const d = decide({ type: 'service', category: 'collections' }, { contact: contact({ vulnerable: true }) }, rs, MORNING_KE);
    expect(d.outcome).toBe('review');
    expect(d.reasons.find((r) => r.code === 'review')?.message).toContain('vulnerable');
    expect(d.plan.length).toBeGreaterThan(0);
  });
  it('the same message to a contact not flagged goes out', () => {
    expect(run({ type: 'service', category: 'collections' }).outcome).toBe('send');
  });
});

describe('12. Opt-out', () => {
  const wa = contact({ capabilities: { whatsapp: true }, engagement: { whatsapp: { sent: 9, delivered: 9, read: 9, replied: 0 } } });
  it('STOP on WhatsApp marketing stops marketing there only', () => {
    const c = [
      consent('whatsapp', 'marketing', 'granted', '2026-10-01T00:00:00Z'),
      EMAIL_OPT_IN,
      consent('whatsapp', 'marketing', 'revoked', '2026-11-20T00:00:00Z'),
    ];
    const d = decide({ type: 'promotional' }, { contact: wa, consent: c }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:email']);
    expect(dropped(d, 'whatsapp')).toBe('no_consent');
  });
  it('stop all stops marketing everywhere, but an OTP still goes', () => {
    const c = [
      consent('email', 'marketing', 'granted', '2026-10-01T00:00:00Z'),
      consent('*', 'marketing', 'revoked', '2026-11-20T00:00:00Z'),
    ];
    const promo = decide({ type: 'promotional' }, { contact: wa, consent: c }, rs, MORNING_KE);
    expect(promo.outcome).toBe('suppress');
    expect(promo.reasons.some((r) => r.code === 'no_reachable_channel')).toBe(true);
    const otp = decide({ type: 'otp' }, { contact: wa, consent: c }, rs, MORNING_KE);
    expect(otp.outcome).toBe('send');
    expect(otp.plan[0]?.channel).toBe('sms');
  });
  it('transactional flows only where consent allows', () => {
    const c = [consent('sms', 'transactional', 'revoked')];
    const d = decide({ type: 'otp' }, { contact: wa, consent: c }, rs, MORNING_KE);
    expect(channels(d)).toEqual(['primary:voice']);
  });
  it('a later grant after stop-all restores that channel', () => {
    const c = [
      consent('*', 'marketing', 'revoked', '2026-11-01T00:00:00Z'),
      consent('email', 'marketing', 'granted', '2026-11-10T00:00:00Z'),
    ];
    expect(channels(decide({ type: 'promotional' }, { contact: wa, consent: c }, rs, MORNING_KE))).toEqual(['primary:email']);
  });
});

describe('decisions are deterministic and explain themselves', () => {
  it('the same inputs give the same decision', () => {
    const a = run({ type: 'rich', rich: true });
    const b = run({ type: 'rich', rich: true });
    expect(a).toEqual(b);
  });
  it('every dropped channel has a reason', () => {
    const d = run({ type: 'rich', rich: true });
    for (const ch of ['rcs', 'whatsapp']) expect(dropped(d, ch)).toBe('not_capable');
  });
});

describe('bad input', () => {
  it('throws INPUT_INVALID naming the JSON path', () => {
    const bad = () => decide({ type: 'fax' }, { contact: contact() }, rs, MORNING_KE);
    expect(bad).toThrow(EngineInputError);
    try {
      decide({ type: 'otp' }, { contact: { ...contact(), identities: [{ kind: 'pigeon', value: 'x' }] } }, rs, MORNING_KE);
      expect.unreachable();
    } catch (e) {
      expect((e as EngineInputError).code).toBe('INPUT_INVALID');
      expect((e as EngineInputError).problems[0]?.path).toBe('/context/contact/identities/0/kind');
    }
    expect(() => decide({ type: 'otp' }, { contact: contact() }, rs, 'yesterday')).toThrow(/\/now/);
    // instants a plan cannot write as ISO 8601 (beyond year 9999, before 1970) are refused, not a RangeError later
    for (const now of ['+275760-09-13T00:00:00Z', 8_640_000_000_000_000, '10000-01-01T00:00:00Z', -1])
      expect(() => decide({ type: 'otp' }, { contact: contact() }, rs, now), String(now)).toThrow(EngineInputError);
    expect(decide({ type: 'otp' }, { contact: contact() }, rs, '9999-12-31T12:00:00Z').outcome).toBeDefined();
    expect(() => decide(null, { contact: contact() }, rs, MORNING_KE)).toThrow(EngineInputError);
  });
});
