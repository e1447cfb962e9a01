import { describe, expect, it } from 'vitest';
import { consent, contact, EMAIL_OPT_IN, MORNING_KE, reasonsOf, rule, ruleset, run, steps } from '../testing/decide-kit.js';

const NOW = Date.parse(MORNING_KE);
const hoursAgo = (h: number) => new Date(NOW - h * 3_600_000).toISOString();
const why = (d: ReturnType<typeof run>, channel: string) => {
  const r = d.reasons.find((x) => x.channel === channel);
  return r && [r.stage, r.code, r.message];
};

describe('what a contact can receive', () => {
  it('no address for the channel', () => {
    const d = run({ type: 'otp' }, { contact: contact({ identities: [{ kind: 'email', value: 'a@example.com' }] }) });
    expect(d.outcome).toBe('suppress');
    expect(why(d, 'sms')).toEqual(['capability', 'no_address', 'contact has no phone for sms']);
  });
  it('consent is checked before the address, and its reason names the deciding ledger line', () => {
    const d = run(
      { type: 'otp' },
      { contact: contact({ identities: [] }), consent: [consent('sms', 'transactional', 'revoked', '2026-11-02T00:00:00Z')] },
    );
    expect(why(d, 'sms')).toEqual(['guards', 'no_consent', 'transactional consent revoked on sms (crm, 2026-11-02T00:00:00Z)']);
    expect(why(d, 'voice')?.[1]).toBe('no_address');
  });
  it('a stop on every channel is named as such; no line at all names the default', () => {
    const all = run({ type: 'promotional' }, { consent: [consent('*', 'marketing', 'revoked')] });
    expect(why(all, 'email')?.[2]).toBe('marketing consent revoked on all channels (crm, 2026-11-01T00:00:00Z)');
    const none = run({ type: 'promotional' }, { consent: [] });
    expect(why(none, 'email')?.[2]).toBe('no marketing consent on record for email');
  });
  it('a handset that is not known to be capable', () => {
    const d = run({ type: 'rich' }, { contact: contact({ capabilities: { rcs: false } }) });
    expect(why(d, 'rcs')).toEqual(['capability', 'not_capable', 'contact is not known to be rcs-capable']);
  });
  it('a channel the market does not offer', () => {
    const us = contact({ market: 'US', timezone: 'America/New_York', capabilities: { viber: true, whatsapp: true } });
    const d = run({ type: 'service', template: 't' }, { contact: us }, '2026-11-23T15:00:00Z');
    expect(steps(d)).toEqual(['primary:whatsapp', 'fallback:sms']);
    expect(why(d, 'viber')).toEqual(['capability', 'outside_market', 'viber is not offered in market US']);
  });
  it('a contact in a market the ruleset does not declare is offered every channel', () => {
    const fr = contact({ market: 'FR', timezone: 'Europe/Paris', capabilities: { viber: true } });
    expect(steps(run({ type: 'service', template: 't' }, { contact: fr }, '2026-11-23T10:00:00Z'))[0]).toBe('primary:viber');
  });
});

describe("WhatsApp's 24-hour session window for free-form messages", () => {
  const wa = (last: string) => contact({ capabilities: { whatsapp: true }, lastInbound: { whatsapp: last } });
  it('open 23 h 59 min after the last inbound message, closed at exactly 24 h', () => {
    expect(steps(run({ type: 'service' }, { contact: wa(hoursAgo(24 - 1 / 60)) }))[0]).toBe('primary:whatsapp');
    const closed = run({ type: 'service' }, { contact: wa(hoursAgo(24)) });
    expect(steps(closed)).toEqual(['primary:sms']);
    expect(why(closed, 'whatsapp')).toEqual([
      'capability',
      'session_window',
      'free-form whatsapp needs an inbound message in the last 24 h, or an approved template',
    ]);
  });
  it('a template may go outside the window', () => {
    expect(steps(run({ type: 'service', template: 'order_update' }, { contact: wa(hoursAgo(100)) }))[0]).toBe('primary:whatsapp');
  });
  it('an inbound message on another channel does not open it', () => {
    const c = contact({ capabilities: { whatsapp: true }, lastInbound: { sms: hoursAgo(1) } });
    expect(steps(run({ type: 'service' }, { contact: c }))).toEqual(['primary:sms']);
  });
});

describe('capability rules', () => {
  it('USSD only for contacts known to use a feature phone', () => {
    const rs = ruleset([rule('ussd-for-all', 'mapping', ['otp'], { type: 'channels', params: { candidates: ['ussd', 'sms'] } }, 90)]);
    const unknown = run({ type: 'otp' }, { contact: { ...contact(), smartphone: undefined } }, MORNING_KE, rs);
    expect(steps(unknown)).toEqual(['primary:sms']);
    expect(reasonsOf(unknown, 'excluded').map((r) => [r.stage, r.rule, r.channel])).toEqual([
      ['capability', 'ussd-only-feature-phones', 'ussd'],
    ]);
    expect(steps(run({ type: 'otp' }, { contact: contact({ smartphone: false }) }, MORNING_KE, rs))[0]).toBe('primary:ussd');
  });
  it('every blocked candidate is reported once, in candidate order', () => {
    const d = run({ type: 'rich', rich: true }, { consent: [EMAIL_OPT_IN] });
    expect(d.reasons.filter((r) => r.stage === 'capability' && r.channel !== undefined).map((r) => r.channel)).toEqual(['rcs', 'whatsapp']);
  });
});
