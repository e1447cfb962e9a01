import { describe, expect, it } from 'vitest';
import { codes, consent, contact, firedRules, MORNING_KE, reasonsOf, rule, ruleset, run, setIn, steps } from '../testing/decide-kit.js';

const NOW = Date.parse(MORNING_KE);
const plus = (min: number) => new Date(NOW + min * 60_000).toISOString();
const wa = contact({ capabilities: { whatsapp: true }, lastInbound: { whatsapp: '2026-11-23T06:00:00Z' } });

describe('high-priority escalation to a voice call (default ruleset)', () => {
  it('a high-priority service message that is not delivered within 2 hours escalates to voice', () => {
    const d = run({ type: 'service', priority: 'high' }, { contact: wa });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms', 'fallback:voice']);
    expect(d.plan.map((s) => s.timeoutMinutes)).toEqual([15, 120, null]);
    expect(d.plan.map((s) => s.after)).toEqual([null, 0, 1]);
    expect(d.plan.map((s) => s.sendAt)).toEqual([plus(0), plus(15), plus(135)]);
    expect(d.plan[2]?.content).toBe('voice');
    expect(firedRules(d)).toContain('high-priority-escalate-voice');
  });
  it('a normal-priority service message does not escalate', () => {
    const d = run({ type: 'service' }, { contact: wa });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(d.plan[1]?.timeoutMinutes).toBeNull();
    expect(firedRules(d)).not.toContain('high-priority-escalate-voice');
  });
  it('a high-priority transactional message already falls back to voice: no second voice step', () => {
    const d = run({ type: 'transactional', priority: 'high' });
    expect(steps(d)).toEqual(['primary:sms', 'fallback:voice']);
  });
  it('no escalation to a channel the contact cannot receive, and the reason says why', () => {
    const d = run({ type: 'service', priority: 'high' }, { contact: wa, consent: [consent('voice', 'service', 'revoked')] });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(d.reasons.find((r) => r.channel === 'voice')?.code).toBe('no_consent');
  });
  it('an escalation rule with a follow-up plans both at the escalation time', () => {
    const rs = ruleset(
      [rule('call-and-mail', 'plan', ['otp'], { type: 'escalate', params: { channel: 'voice', afterMinutes: 5, also: 'email' } })],
      {
        patch: (doc) => {
          const i = (doc.rules as Array<{ name: string }>).findIndex((r) => r.name === 'otp-transactional-sms-voice');
          setIn(doc, ['rules', String(i), 'event', 'params', 'candidates'], ['sms']);
        },
      },
    );
    const d = run({ type: 'otp' }, {}, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:sms', 'fallback:voice', 'also:email']);
    expect(d.plan.map((s) => [s.after, s.sendAt, s.timeoutMinutes])).toEqual([
      [null, plus(0), 5],
      [0, plus(5), null],
      [1, plus(5), null],
    ]);
    // the follow-up is costed, the fallback is not
    expect(d.estimatedCost).toBe(0.009);
  });
});

describe('the estimated cost', () => {
  it('counts the primary and follow-ups, never fallbacks that may not happen', () => {
    const d = run({ type: 'service' }, { contact: wa });
    expect(d.plan.map((s) => s.estimatedCost)).toEqual([0.012, 0.008]);
    expect(d.estimatedCost).toBe(0.012);
    expect(d.currency).toBe('USD');
  });
  it('is zero for a suppressed message', () => {
    const d = run({ type: 'promotional' }, { consent: [] });
    expect([d.outcome, d.estimatedCost, d.plan]).toEqual(['suppress', 0, []]);
  });
});

describe('timeouts between steps', () => {
  it("a channel's own delivery timeout applies when no rule sets one", () => {
    const rs = ruleset(
      [rule('tx', 'mapping', ['transactional'], { type: 'channels', params: { candidates: ['email', 'sms', 'voice'] } })],
      {
        replace: true,
      },
    );
    const d = run({ type: 'transactional' }, {}, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:email', 'fallback:sms', 'fallback:voice']);
    expect(d.plan.map((s) => s.timeoutMinutes)).toEqual([1440, 60, null]);
    expect(d.plan.map((s) => s.sendAt)).toEqual([plus(0), plus(1440), plus(1500)]);
  });
  it('a fallbackAfter rule is reported only when its channel is planned with something after it', () => {
    const otp = run({ type: 'otp' }, { consent: [consent('voice', 'transactional', 'revoked')] });
    expect(steps(otp)).toEqual(['primary:sms']);
    expect(firedRules(otp)).not.toContain('otp-sms-2min');
    expect(otp.plan[0]?.timeoutMinutes).toBeNull();
    const service = run({ type: 'service' }, { contact: wa });
    expect(firedRules(service)).toContain('service-whatsapp-15min');
    expect(firedRules(service)).not.toContain('service-viber-15min');
  });
});

describe('content per channel', () => {
  it('rich content goes rich where the channel can show it, as text + link elsewhere, and a call is a call', () => {
    const rs = ruleset([
      rule('rich-all', 'mapping', ['rich'], { type: 'channels', params: { candidates: ['email', 'sms', 'ussd', 'voice'] } }, 90),
    ]);
    const d = run({ type: 'rich', rich: true }, { contact: contact({ smartphone: false }) }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:email', 'fallback:sms', 'fallback:ussd', 'fallback:voice']);
    expect(d.plan.map((s) => s.content)).toEqual(['rich', 'text+link', 'ussd-menu', 'voice']);
    expect(reasonsOf(d, 'content_adapted').map((r) => [r.channel, r.message])).toEqual([
      ['sms', 'rich content sent as text+link on sms'],
      ['ussd', 'rich content sent as ussd-menu on ussd'],
    ]);
  });
  it('plain content goes as text even where the channel could show rich content', () => {
    const d = run({ type: 'service' }, { contact: wa });
    expect(d.plan.map((s) => s.content)).toEqual(['text', 'text']);
    expect(codes(d)).not.toContain('content_adapted');
  });
  it('an adaptContent rule forces the variant, and is reported only when its channel is planned', () => {
    const rs = ruleset([rule('sms-link', 'plan', ['service'], { type: 'adaptContent', params: { channel: 'sms', variant: 'text+link' } })]);
    const d = run({ type: 'service' }, { contact: wa }, MORNING_KE, rs);
    expect(d.plan.map((s) => s.content)).toEqual(['text', 'text+link']);
    expect(firedRules(d)).toContain('sms-link');
    const noSms = run({ type: 'service' }, { contact: wa, consent: [consent('sms', 'service', 'revoked')] }, MORNING_KE, rs);
    expect(firedRules(noSms)).not.toContain('sms-link');
  });
  it('a channel that only offers rich content sends rich content', () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['channels', 'email', 'content'], ['rich']);
      },
    });
    expect(run({ type: 'promotional' }, {}, MORNING_KE, rs).plan[0]?.content).toBe('rich');
  });
  it("each step names the channel's provider", () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['channels', 'sms', 'provider'], 'africastalking');
      },
    });
    expect(run({ type: 'otp' }, {}, MORNING_KE, rs).plan.map((s) => s.provider)).toEqual(['africastalking', 'sandbox']);
  });
});

describe('follow-ups (also)', () => {
  it('go after the primary, by their delay from the send time, even when the send is deferred', () => {
    const d = run({ type: 'urgent' }, {}, '2026-11-23T03:00:00Z'); // 06:00 Nairobi: urgent passes quiet hours
    expect(d.plan.map((s) => [s.mode, s.channel, s.after, s.delayMinutes, s.sendAt])).toEqual([
      ['primary', 'voice', null, 0, '2026-11-23T03:00:00.000Z'],
      ['also', 'sms', 0, 2, '2026-11-23T03:02:00.000Z'],
    ]);
    const rs = ruleset([rule('later', 'timing', ['urgent'], { type: 'defer', params: { minutes: 10 } })]);
    const later = run({ type: 'urgent' }, {}, MORNING_KE, rs);
    expect(later.plan.map((s) => s.sendAt)).toEqual([plus(10), plus(12)]);
  });
  it('a follow-up the contact cannot receive is neither planned nor promoted', () => {
    const d = run({ type: 'urgent' }, { consent: [consent('sms', 'transactional', 'revoked')] });
    expect(steps(d)).toEqual(['primary:voice']);
    expect(d.reasons.find((r) => r.channel === 'sms')?.code).toBe('no_consent');
    const none = run({ type: 'urgent' }, { consent: [consent('*', 'transactional', 'revoked')] });
    expect(none.outcome).toBe('suppress');
    expect(none.plan).toEqual([]);
    expect(codes(none)).toContain('no_reachable_channel');
    expect(codes(none)).not.toContain('preferred');
  });
  it('a follow-up becomes the primary only when every candidate is gone, and the reason says so', () => {
    const d = run({ type: 'urgent' }, { consent: [consent('voice', 'transactional', 'revoked')] });
    expect(steps(d)).toEqual(['primary:sms']);
    expect(d.plan[0]?.delayMinutes).toBe(0);
    expect(reasonsOf(d, 'preferred').map((r) => [r.stage, r.channel, r.message])).toEqual([
      ['plan', 'sms', 'no candidate left; sms follow-up becomes the primary'],
    ]);
  });
});

describe('what a WhatsApp step carries', () => {
  it('the variant mapped to the approved template where the template has one (it is what is sent, in the window or out), else text', () => {
    const mapped = run({ type: 'service', template: 'payment_reminder_friendly' }, { contact: wa });
    expect(steps(mapped)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(mapped.plan.map((s) => s.content)).toEqual(['rich', 'text']);
    // rich content was not asked for, and was not adapted: nothing to say about it
    expect(codes(mapped)).not.toContain('content_adapted');
    // a template without an approved one goes as text (inside the window, where free text may)
    const plain = run(
      { type: 'service', template: 'payment_reminder_friendly' },
      { contact: wa },
      MORNING_KE,
      ruleset([], {
        patch: (doc) => {
          const t = (doc.templates as Record<string, { content: Record<string, unknown> }>).payment_reminder_friendly;
          if (t !== undefined) delete t.content.rich;
        },
      }),
    );
    expect(plain.plan.map((s) => s.content)).toEqual(['text', 'text']);
    // no template at all: text
    expect(run({ type: 'service' }, { contact: wa }).plan[0]?.content).toBe('text');
  });
});
