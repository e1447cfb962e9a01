import { type Contact, DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { withEngagement } from './engagement.js';

const rulesetIn = (timezone?: string) => {
  const doc = structuredClone(DEFAULT_RULESET) as { quietHours: Record<string, unknown> };
  if (timezone !== undefined) doc.quietHours.timezone = timezone;
  return loadRuleset(doc);
};

// read at 06:15 UTC: 07:15 in Berlin, 09:15 in Nairobi
const READ_AT = Date.parse('2026-11-23T06:15:00Z');
const readHour = (c: Contact) => c.readHours?.findIndex((n) => n > 0);

describe('read hours', () => {
  const emailOnly: Contact = { id: 'c-1', identities: [{ kind: 'email', value: 'a@example.com' }] } as unknown as Contact;

  it("are counted in the ruleset's zone for a contact with neither a zone nor a market (as its messages are timed)", () => {
    const read = [{ status: 'read' as const, at: READ_AT }];
    expect(readHour(withEngagement(emailOnly, 'email', read, rulesetIn('Europe/Berlin')))).toBe(7);
    expect(readHour(withEngagement(emailOnly, 'email', read, rulesetIn()))).toBe(6);
  });

  it("are counted in the contact's own zone, else its market's", () => {
    const read = [{ status: 'read' as const, at: READ_AT }];
    const rs = rulesetIn('Europe/Berlin');
    expect(readHour(withEngagement({ ...emailOnly, timezone: 'Asia/Tokyo' }, 'email', read, rs))).toBe(15);
    expect(readHour(withEngagement({ ...emailOnly, market: 'KE' }, 'email', read, rs))).toBe(9);
  });
});
