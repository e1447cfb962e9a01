import { describe, expect, it } from 'vitest';
import { EngineInputError } from '../errors.js';
import { contact, EMAIL_OPT_IN, MORNING_KE, rs } from '../testing/decide-kit.js';
import { decide } from './decide.js';

describe('what a decision says about itself', () => {
  it('names the message, purpose, contact, ruleset version, decision time and currency', () => {
    const d = decide({ type: 'service', purpose: 'transactional' }, { contact: contact({ id: 'c-42' }) }, rs, MORNING_KE);
    expect(d).toMatchObject({
      outcome: 'send',
      messageType: 'service',
      purpose: 'transactional',
      contactId: 'c-42',
      rulesetVersion: 'default-2026.12',
      decidedAt: '2026-11-23T07:00:00.000Z',
      sendAt: '2026-11-23T07:00:00.000Z',
      currency: 'USD',
    });
    expect(decide({ type: 'promotional' }, { contact: contact(), consent: [EMAIL_OPT_IN] }, rs, MORNING_KE).purpose).toBe('marketing');
  });
  it('takes now as a Date, epoch milliseconds or an ISO string, with the same result', () => {
    const ctx = { contact: contact() };
    const ms = Date.parse(MORNING_KE);
    const a = decide({ type: 'otp' }, ctx, rs, MORNING_KE);
    expect(decide({ type: 'otp' }, ctx, rs, ms)).toEqual(a);
    expect(decide({ type: 'otp' }, ctx, rs, new Date(ms))).toEqual(a);
    expect(() => decide({ type: 'otp' }, ctx, rs, Number.NaN)).toThrow(EngineInputError);
    expect(() => decide({ type: 'otp' }, ctx, rs, new Date('never'))).toThrow(/\/now/);
  });
  it('names the request field at fault with its JSON path', () => {
    try {
      decide({ type: 'otp', priority: 'urgent' }, { contact: contact() }, rs, MORNING_KE);
      expect.unreachable();
    } catch (e) {
      expect((e as EngineInputError).problems.map((p) => p.path)).toEqual(['/request/priority']);
    }
  });
});
