import { describe, expect, it } from 'vitest';
import { consent, contact, firedRules, MORNING_KE, reasonsOf, rule, ruleset, run, setIn, steps } from '../testing/decide-kit.js';

describe('mapping a message type to candidate channels', () => {
  it('no mapping rule for the type: suppressed, and the reason says for which type', () => {
    const rs = ruleset([], { replace: true });
    const d = run({ type: 'otp' }, {}, MORNING_KE, rs);
    expect([d.outcome, d.plan, d.sendAt]).toEqual(['suppress', [], null]);
    expect(reasonsOf(d, 'no_mapping').map((r) => [r.stage, r.message])).toEqual([['mapping', 'no mapping rule gives channels for otp']]);
  });
  it('the highest-priority mapping wins; the others are reported as shadowed by it', () => {
    const d = run({ type: 'service' }, { contact: contact({ smartphone: false }) });
    expect(steps(d)).toEqual(['primary:ussd', 'fallback:sms']);
    expect(firedRules(d)).toContain('feature-phone-ussd-sms');
    expect(reasonsOf(d, 'rule_shadowed').map((r) => [r.stage, r.rule, r.effect, r.message])).toEqual([
      ['mapping', 'service-whatsapp-sms', 'channels', 'mapping not used: rule feature-phone-ussd-sms has priority'],
    ]);
  });
  it("a channel's declared fallback chain extends the end of the list, stopping at a channel already there", () => {
    const rs = ruleset([], {
      patch: (doc) => {
        setIn(doc, ['channels', 'email', 'fallback'], 'sms');
        setIn(doc, ['channels', 'sms', 'fallback'], 'voice');
      },
    });
    expect(steps(run({ type: 'promotional' }, { consent: [consent('*', 'marketing', 'granted')] }, MORNING_KE, rs))).toEqual([
      'primary:email',
      'fallback:sms',
      'fallback:voice',
    ]);
    // voice → SMS: SMS's fallback (voice) is already a candidate, nothing is added
    const back = ruleset(
      [rule('call-first', 'mapping', ['transactional'], { type: 'channels', params: { candidates: ['voice', 'sms'] } }, 90)],
      {
        patch: (doc) => {
          setIn(doc, ['channels', 'sms', 'fallback'], 'voice');
        },
      },
    );
    expect(steps(run({ type: 'transactional' }, {}, MORNING_KE, back))).toEqual(['primary:voice', 'fallback:sms']);
  });
  it('the chain follows the last channel of the last group', () => {
    const rs = ruleset(
      [rule('group', 'mapping', ['transactional'], { type: 'channels', params: { candidates: [['voice', 'sms']] } }, 90)],
      {
        patch: (doc) => {
          setIn(doc, ['channels', 'sms', 'fallback'], 'email');
        },
      },
    );
    expect(steps(run({ type: 'transactional' }, {}, MORNING_KE, rs))).toEqual(['primary:sms', 'fallback:voice', 'fallback:email']);
  });
  it('a mapping prefer rule puts its channel first; a mapping exclude rule drops channels and names each', () => {
    const rs = ruleset([
      rule('email-first', 'mapping', ['otp'], { type: 'prefer', params: { channel: 'email' } }),
      rule('no-calls', 'mapping', ['otp', 'transactional'], {
        type: 'exclude',
        params: { channels: ['voice', 'sms', 'viber'], reason: 'quiet office' },
      }),
    ]);
    const d = run({ type: 'otp' }, {}, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:email']);
    expect(firedRules(d)).toEqual(['otp-urgent-pass-quiet-hours', 'otp-transactional-sms-voice', 'email-first', 'no-calls']);
    expect(reasonsOf(d, 'excluded').map((r) => [r.stage, r.rule, r.channel, r.message])).toEqual([
      ['mapping', 'no-calls', 'voice', 'quiet office'],
      ['mapping', 'no-calls', 'sms', 'quiet office'],
    ]);
  });
  it('an exclude rule that removes nothing is not reported', () => {
    const rs = ruleset([rule('no-ussd', 'mapping', ['otp'], { type: 'exclude', params: { channels: ['ussd'] } })]);
    const d = run({ type: 'otp' }, {}, MORNING_KE, rs);
    expect(firedRules(d)).not.toContain('no-ussd');
    expect(steps(d)).toEqual(['primary:sms', 'fallback:voice']);
  });
  it('an exclude without a reason of its own names the rule', () => {
    const rs = ruleset([rule('no-voice', 'mapping', ['otp'], { type: 'exclude', params: { channels: ['voice'] } })]);
    expect(reasonsOf(run({ type: 'otp' }, {}, MORNING_KE, rs), 'excluded')[0]?.message).toBe('excluded by no-voice');
  });
  it('a prefer rule above the mapping rule is not a mapping: it adjusts the winner', () => {
    const rs = ruleset([rule('voice-first', 'mapping', ['otp'], { type: 'prefer', params: { channel: 'voice' } }, 90)]);
    const d = run({ type: 'otp' }, {}, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:voice', 'fallback:sms']);
    expect(reasonsOf(d, 'rule_shadowed')).toEqual([]);
  });
});
