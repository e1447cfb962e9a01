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
});
