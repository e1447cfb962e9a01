import { describe, expect, it } from 'vitest';
import type { PastEvent } from '../model/context.js';
import type { Ruleset } from '../ruleset/schema.js';
import { deriveSuppressions } from './suppressions.js';

const NOW = Date.parse('2026-11-23T07:00:00Z');
const DAY = 86_400_000;
const ev = (type: string, atMs: number, extra: Partial<PastEvent> = {}): PastEvent => ({
  type,
  at: new Date(atMs).toISOString(),
  data: {},
  ...extra,
});
const invoice = (id: string) => ({ type: 'invoice', id });

const DEFS: Ruleset['suppressions'] = {
  openTicket: { kind: 'window', opens: ['ticket.opened'], closes: ['ticket.closed'], scope: 'contact' },
  complaint: { kind: 'window', opens: ['complaint.filed'], closes: [], forDays: 14, scope: 'contact' },
  invoicePaid: { kind: 'window', opens: ['invoice.paid'], closes: ['invoice.reopened'], scope: 'object' },
  topic: { kind: 'latest', events: ['call.completed', 'reply.received'], field: 'about.topic', withinDays: 14 },
};
const derive = (events: PastEvent[], object?: { type: string; id: string }) =>
  deriveSuppressions(
    DEFS,
    events,
    events.map((e) => Date.parse(e.at)),
    object,
    NOW,
  );

describe('suppression windows', () => {
  it('nothing on record: every window is closed and every latest value is null', () => {
    expect(derive([])).toEqual({ openTicket: false, complaint: false, invoicePaid: false, topic: null });
  });
  it('a window opens with its event and closes with a later closing event, not with one at the same instant or before', () => {
    expect(derive([ev('ticket.opened', NOW - DAY)]).openTicket).toBe(true);
    expect(derive([ev('ticket.opened', NOW - DAY), ev('ticket.closed', NOW - DAY / 2)]).openTicket).toBe(false);
    expect(derive([ev('ticket.opened', NOW - DAY), ev('ticket.closed', NOW - DAY)]).openTicket).toBe(false);
    expect(derive([ev('ticket.closed', NOW - 2 * DAY), ev('ticket.opened', NOW - DAY)]).openTicket).toBe(true);
  });
  it('events dated after now do not count', () => {
    expect(derive([ev('ticket.opened', NOW + 1000)]).openTicket).toBe(false);
    expect(derive([ev('ticket.opened', NOW - DAY), ev('ticket.closed', NOW + 1000)]).openTicket).toBe(true);
  });
  it('per object: one closed ticket does not close another', () => {
    const t = (id: string) => ({ object: { type: 'ticket', id } });
    expect(
      derive([
        ev('ticket.opened', NOW - 3 * DAY, t('a')),
        ev('ticket.opened', NOW - 2 * DAY, t('b')),
        ev('ticket.closed', NOW - DAY, t('a')),
      ]).openTicket,
    ).toBe(true);
  });
  it('a window with forDays stays open for exactly that long after its latest opening', () => {
    expect(derive([ev('complaint.filed', NOW - 14 * DAY)]).complaint).toBe(true);
    expect(derive([ev('complaint.filed', NOW - 14 * DAY - 1)]).complaint).toBe(false);
    expect(derive([ev('complaint.filed', NOW - 20 * DAY), ev('complaint.filed', NOW - 2 * DAY)]).complaint).toBe(true);
  });
  it('an object-scoped window is about the object of this message only', () => {
    const paid = [ev('invoice.paid', NOW - DAY, { object: invoice('inv-1') })];
    expect(derive(paid, invoice('inv-1')).invoicePaid).toBe(true);
    expect(derive(paid, invoice('inv-2')).invoicePaid).toBe(false);
    expect(derive(paid, { type: 'order', id: 'inv-1' }).invoicePaid).toBe(false);
    expect(derive(paid).invoicePaid).toBe(false);
    expect(derive([ev('invoice.paid', NOW - DAY)], invoice('inv-1')).invoicePaid).toBe(false);
    expect(derive([...paid, ev('invoice.reopened', NOW - 1000, { object: invoice('inv-1') })], invoice('inv-1')).invoicePaid).toBe(false);
  });
});

describe('latest values', () => {
  const call = (atMs: number, topic: unknown, type = 'call.completed') => ev(type, atMs, { data: { about: { topic } } });
  it('the value of the latest matching event within the period, read at a dotted path', () => {
    expect(
      derive([call(NOW - 3 * DAY, 'billing'), call(NOW - DAY, 'broadband', 'reply.received'), call(NOW - 2 * DAY, 'delivery')]).topic,
    ).toBe('broadband');
  });
  it('two events at the same instant: the later line wins', () => {
    expect(derive([call(NOW - DAY, 'billing'), call(NOW - DAY, 'delivery')]).topic).toBe('delivery');
  });
  it('older than the period, dated after now, or of another type: not counted', () => {
    expect(derive([call(NOW - 14 * DAY, 'billing')]).topic).toBe('billing');
    expect(derive([call(NOW - 14 * DAY - 1, 'billing')]).topic).toBeNull();
    expect(derive([call(NOW + 1, 'billing')]).topic).toBeNull();
    expect(derive([call(NOW - DAY, 'billing', 'ticket.opened')]).topic).toBeNull();
  });
  it('an event without the field gives null, and a later one without it hides an earlier value', () => {
    expect(derive([ev('call.completed', NOW - DAY)]).topic).toBeNull();
    expect(derive([call(NOW - 2 * DAY, 'billing'), ev('call.completed', NOW - DAY)]).topic).toBeNull();
  });
});
