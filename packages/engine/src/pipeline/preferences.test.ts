import { describe, expect, it } from 'vitest';
import type { ContactInput } from '../model/contact.js';
import { contact, firedRules, MORNING_KE, reasonsOf, rule, ruleset, run, steps } from '../testing/decide-kit.js';

const wa = (preferences: ContactInput['preferences']) =>
  contact({ capabilities: { whatsapp: true }, lastInbound: { whatsapp: '2026-11-23T06:00:00Z' }, preferences });

describe("the contact's own preferences", () => {
  it('a channel the contact does not want for this type is dropped, with the reason', () => {
    const d = run({ type: 'service' }, { contact: wa({ service: { exclude: ['whatsapp', 'email'] } }) });
    expect(steps(d)).toEqual(['primary:sms']);
    expect(reasonsOf(d, 'preference').map((r) => [r.stage, r.channel, r.message])).toEqual([
      ['preferences', 'whatsapp', 'contact does not want service on whatsapp'],
    ]);
  });
  it('a preferred channel that is a candidate goes first, with the reason', () => {
    const d = run({ type: 'service' }, { contact: wa({ service: { channel: 'sms' } }) });
    expect(steps(d)).toEqual(['primary:sms', 'fallback:whatsapp']);
    expect(reasonsOf(d, 'preferred').map((r) => [r.stage, r.channel, r.message])).toEqual([
      ['preferences', 'sms', 'contact prefers sms for service'],
    ]);
  });
  it('a preferred channel that is not a candidate changes nothing', () => {
    const d = run({ type: 'service' }, { contact: wa({ service: { channel: 'email' } }) });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(reasonsOf(d, 'preferred')).toEqual([]);
  });
  it('a preference for another message type does not apply', () => {
    const d = run({ type: 'service' }, { contact: wa({ otp: { channel: 'sms', exclude: ['whatsapp'] } }) });
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
  });
  it('excluding every channel leaves nothing to send', () => {
    const d = run({ type: 'otp' }, { contact: wa({ otp: { exclude: ['sms', 'voice'] } }) });
    expect(d.outcome).toBe('suppress');
    expect(reasonsOf(d, 'no_reachable_channel')).toHaveLength(1);
  });
});

describe('preference rules', () => {
  it('prefer moves a candidate first and is reported; prefer of a non-candidate is ignored', () => {
    const rs = ruleset([
      rule('sms-first', 'preferences', ['service'], { type: 'prefer', params: { channel: 'sms' } }),
      rule('email-first', 'preferences', ['service'], { type: 'prefer', params: { channel: 'email' } }),
    ]);
    const d = run({ type: 'service' }, { contact: wa({}) }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:sms', 'fallback:whatsapp']);
    expect(firedRules(d)).toContain('sms-first');
    expect(firedRules(d)).not.toContain('email-first');
  });
  it('exclude drops a channel with the code "preference"', () => {
    const rs = ruleset([rule('no-wa', 'preferences', ['service'], { type: 'exclude', params: { channels: ['whatsapp'] } })]);
    const d = run({ type: 'service' }, { contact: wa({}) }, MORNING_KE, rs);
    expect(steps(d)).toEqual(['primary:sms']);
    expect(reasonsOf(d, 'preference').map((r) => [r.rule, r.channel])).toEqual([['no-wa', 'whatsapp']]);
  });
});
