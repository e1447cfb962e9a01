import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsentRecord } from '../model/consent.js';
import { pick, rng } from '../testing/generate.js';
import { foldConsent } from './fold.js';

const defaults = { marketing: 'revoked', service: 'granted', transactional: 'granted' } as const;
const rec = (channel: string, purpose: ConsentRecord['purpose'], status: ConsentRecord['status'], at: string): ConsentRecord => ({
  channel,
  purpose,
  status,
  source: 'api',
  at,
});

describe('consent fold', () => {
  it('uses the ruleset default when nothing is on record', () => {
    const s = foldConsent([], defaults);
    expect(s.allows('sms', 'marketing')).toBe(false);
    expect(s.allows('sms', 'transactional')).toBe(true);
  });
  it('latest line wins; * covers every channel and purpose; ties go to the more specific line', () => {
    const s = foldConsent(
      [
        rec('sms', 'marketing', 'granted', '2026-01-01T00:00:00Z'),
        rec('*', 'marketing', 'revoked', '2026-02-01T00:00:00Z'),
        rec('email', 'marketing', 'granted', '2026-02-01T00:00:00Z'),
        rec('*', '*', 'revoked', '2026-01-15T00:00:00Z'),
      ],
      defaults,
    );
    expect(s.allows('sms', 'marketing')).toBe(false);
    expect(s.allows('email', 'marketing')).toBe(true);
    expect(s.allows('sms', 'transactional')).toBe(false);
    expect(s.answer('sms', 'marketing').record?.channel).toBe('*');
  });
  it('a long ledger gives the same answers as a short scan of the same lines', () => {
    const r = rng(9);
    for (let trial = 0; trial < 200; trial++) {
      const lines = Array.from({ length: 40 + Math.floor(r() * 40) }, () =>
        rec(
          pick(r, ['sms', 'email', '*', 'whatsapp']),
          pick(r, ['marketing', 'service', '*'] as const),
          pick(r, ['granted', 'revoked'] as const),
          new Date(Date.UTC(2026, 0, 1 + Math.floor(r() * 30))).toISOString(),
        ),
      );
      const long = foldConsent(lines, defaults);
      for (const ch of ['sms', 'email', 'whatsapp', 'voice']) {
        for (const p of ['marketing', 'service', 'transactional'] as const) {
          // reference: the brute-force definition
          let best: ConsentRecord | undefined;
          let bestKey: [number, number, number] = [-Infinity, -1, -1];
          lines.forEach((l, i) => {
            if ((l.channel !== ch && l.channel !== '*') || (l.purpose !== p && l.purpose !== '*')) return;
            const key: [number, number, number] = [Date.parse(l.at), (l.channel === ch ? 2 : 0) + (l.purpose === p ? 1 : 0), i];
            if (key[0] > bestKey[0] || (key[0] === bestKey[0] && (key[1] > bestKey[1] || (key[1] === bestKey[1] && key[2] > bestKey[2])))) {
              best = l;
              bestKey = key;
            }
          });
          expect(long.allows(ch, p)).toBe(best ? best.status === 'granted' : defaults[p] === 'granted');
        }
      }
    }
  });

  it('two lines for the same channel and purpose at the same instant: the later line of the ledger wins', () => {
    const at = '2026-03-01T00:00:00Z';
    const grant = rec('sms', 'marketing', 'granted', at);
    const revoke = rec('sms', 'marketing', 'revoked', at);
    expect(foldConsent([grant, revoke], defaults).answer('sms', 'marketing')).toEqual({ allowed: false, record: revoke });
    expect(foldConsent([revoke, grant], defaults).answer('sms', 'marketing')).toEqual({ allowed: true, record: grant });
    // the same in a ledger long enough to be compacted
    const filler = Array.from({ length: 40 }, (_, i) =>
      rec('email', 'service', 'granted', new Date(Date.UTC(2026, 0, 1, i)).toISOString()),
    );
    expect(foldConsent([...filler, grant, revoke], defaults).allows('sms', 'marketing')).toBe(false);
    expect(foldConsent([...filler, revoke, grant], defaults).allows('sms', 'marketing')).toBe(true);
  });
  it('at the same instant the channel-specific line beats the purpose-specific one, whatever the order', () => {
    const at = '2026-03-01T00:00:00Z';
    const channelOnly = rec('sms', '*', 'granted', at);
    const purposeOnly = rec('*', 'marketing', 'revoked', at);
    for (const lines of [
      [channelOnly, purposeOnly],
      [purposeOnly, channelOnly],
    ]) {
      expect(foldConsent(lines, defaults).answer('sms', 'marketing').record).toBe(channelOnly);
    }
    // a line that covers neither the channel nor the purpose is not considered
    expect(foldConsent([rec('email', 'marketing', 'granted', at)], defaults).answer('sms', 'marketing')).toEqual({
      allowed: false,
      record: null,
    });
    expect(foldConsent([rec('sms', 'service', 'revoked', at)], defaults).answer('sms', 'marketing')).toEqual({
      allowed: false,
      record: null,
    });
    expect(foldConsent([rec('sms', 'service', 'revoked', at)], defaults).answer('sms', 'transactional')).toEqual({
      allowed: true,
      record: null,
    });
  });
  it('any ledger, short or long, answers like the brute-force definition (property)', () => {
    const line = fc.record({
      channel: fc.constantFrom('sms', 'email', '*'),
      purpose: fc.constantFrom('marketing', 'service', '*') as fc.Arbitrary<ConsentRecord['purpose']>,
      status: fc.constantFrom('granted', 'revoked') as fc.Arbitrary<ConsentRecord['status']>,
      day: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(line, { minLength: 0, maxLength: 45 }), (spec) => {
        const lines = spec.map((l) => rec(l.channel, l.purpose, l.status, new Date(Date.UTC(2026, 0, l.day)).toISOString()));
        const state = foldConsent(lines, defaults);
        for (const ch of ['sms', 'email', 'voice']) {
          for (const p of ['marketing', 'service', 'transactional'] as const) {
            let best: ConsentRecord | null = null;
            let bestKey = [-Infinity, -1];
            for (const l of lines) {
              if ((l.channel !== ch && l.channel !== '*') || (l.purpose !== p && l.purpose !== '*')) continue;
              const key = [Date.parse(l.at), (l.channel === ch ? 2 : 0) + (l.purpose === p ? 1 : 0)] as [number, number];
              if (key[0] > (bestKey[0] as number) || (key[0] === bestKey[0] && key[1] >= (bestKey[1] as number))) {
                best = l;
                bestKey = key;
              }
            }
            const a = state.answer(ch, p);
            if (a.allowed !== (best ? best.status === 'granted' : defaults[p] === 'granted')) return false;
            if (best !== null && (a.record?.status !== best.status || a.record?.at !== best.at)) return false;
          }
        }
        return state.isEmpty === (lines.length === 0);
      }),
      { numRuns: 150 },
    );
  });
});
