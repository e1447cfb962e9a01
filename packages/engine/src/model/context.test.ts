import { describe, expect, it } from 'vitest';
import { generateContext, rng } from '../testing/generate.js';
import { type DecisionContextInput, decisionContextSchema, trustedDecisionContext } from './context.js';

describe('trustedDecisionContext', () => {
  it('equals the schema parse on 5,000 generated contexts', () => {
    const r = rng(7);
    const now = Date.parse('2026-11-23T12:00:00Z');
    for (let i = 0; i < 5_000; i++) {
      const ctx = generateContext(r, i, now);
      expect(trustedDecisionContext(ctx)).toEqual(decisionContextSchema.parse(ctx));
    }
  });

  it('fills every default the schema fills, down to engagement counters and event data', () => {
    const sparse = {
      contact: { id: 'c1', engagement: { sms: { sent: 2 } } },
      events: [{ type: 'ticket.opened', at: '2026-11-23T10:00:00.000Z' }],
    } as DecisionContextInput;
    const trusted = trustedDecisionContext(sparse);
    expect(trusted).toEqual(decisionContextSchema.parse(sparse));
    expect(trusted.contact.engagement.sms).toEqual({ sent: 2, delivered: 0, read: 0, replied: 0 });
    expect(trusted.events[0]?.data).toEqual({});
    expect(trusted.consent).toEqual([]);
  });
});
