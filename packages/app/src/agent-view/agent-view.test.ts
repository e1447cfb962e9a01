import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../db/sqlite.js';
import { Store } from '../store/store.js';
import { newMessage } from '../store/testing.js';
import { agentView } from './agent-view.js';

const T = Date.parse('2026-11-23T07:00:00Z');
const rs = loadRuleset(DEFAULT_RULESET);

describe('the agent view', () => {
  it("says a send waiting in 'next' will not go once its purpose is revoked on every channel of its plan, and does not call it next", async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-view-')), 'signalbox.db')));
    try {
      const { contact } = await store.contacts.upsert(
        {
          identities: [
            { kind: 'phone', value: '+254711000950' },
            { kind: 'email', value: 'held@example.com' },
          ],
        },
        T,
      );
      const plan = (channel: string) => ({ channel, mode: 'primary', content: 'text', estimatedCost: 0 });
      const promo = newMessage(`promo-${contact.id}`, contact.id, null, {
        type: 'promotional',
        purpose: 'marketing',
        template: 'black_friday',
        decision: { outcome: 'defer', plan: [plan('email'), plan('sms')], reasons: [] },
      });
      const service = newMessage(`svc-${contact.id}`, contact.id, null, {
        template: 'order_update',
        decision: { outcome: 'defer', plan: [plan('sms')], reasons: [] },
      });
      for (const m of [promo, service]) await store.messages.create(m, T);
      await store.timers.schedule({ kind: 'step', messageId: promo.id, step: 0 }, T + 60_000, T);
      await store.timers.schedule({ kind: 'step', messageId: service.id, step: 0 }, T + 120_000, T);
      await store.consent.append(
        contact.id,
        { channel: '*', purpose: 'marketing', status: 'granted', source: 'crm', at: new Date(T).toISOString() },
        T,
      );
      const before = await agentView(store, rs, contact, T);
      expect(before.next.map((n) => [n.ref, n.heldBack])).toEqual([
        [promo.id, null],
        [service.id, null],
      ]);
      expect(before.summary).toMatch(/Next: black_friday/);
      // STOP ALL: marketing revoked everywhere
      await store.consent.append(
        contact.id,
        { channel: '*', purpose: 'marketing', status: 'revoked', source: 'keyword', at: new Date(T + 1000).toISOString() },
        T + 1000,
      );
      const after = await agentView(store, rs, contact, T + 2000);
      expect(after.next.map((n) => [n.ref, n.heldBack])).toEqual([
        [promo.id, 'marketing consent revoked on email, sms: it will not be sent'],
        [service.id, null],
      ]);
      expect(after.summary).toMatch(/Next: order_update/);
    } finally {
      await store.close?.();
    }
  });

  it("counts the budget used from when each message went, as decisions do: a promotion asked for yesterday and sent an hour ago is today's", async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-view-')), 'signalbox.db')));
    try {
      const { contact } = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254711000952' }] }, T - 30 * 3_600_000);
      const promo = newMessage(`promo-${contact.id}`, contact.id, null, {
        type: 'promotional',
        purpose: 'marketing',
        status: 'sent',
        decision: { outcome: 'send', plan: [{ channel: 'sms', mode: 'primary', content: 'text', estimatedCost: 0 }], reasons: [] },
      });
      await store.messages.create(promo, T - 26 * 3_600_000);
      await store.attempts.claim({ messageId: promo.id, step: 0, channel: 'sms', provider: 'sandbox' }, T - 3_600_000);
      const view = await agentView(store, rs, contact, T);
      expect(view.budget.find((b) => b.cap === 'promo-daily')).toMatchObject({ used: 1, left: 0 });
    } finally {
      await store.close?.();
    }
  });

  it('tells of a ticket opened 120 days ago and never closed (what still stands, however old); not of an old reply', async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-view-')), 'signalbox.db')));
    try {
      const { contact } = await store.contacts.upsert(
        { identities: [{ kind: 'phone', value: '+254711000951' }], timezone: 'Africa/Nairobi' },
        T,
      );
      const DAY = 86_400_000;
      await store.contactEvents.record(contact.id, {
        id: 'api:t-old',
        type: 'ticket.opened',
        at: T - 120 * DAY,
        object: { type: 'ticket', id: 'T-OLD' },
        data: { subject: 'router keeps dropping' },
      });
      await store.contactEvents.record(contact.id, { id: 'api:r-old', type: 'reply.received', at: T - 100 * DAY, data: {} });
      const view = await agentView(store, rs, contact, T);
      expect(view.timeline.map((t: { title: string }) => t.title)).toEqual(['ticket.opened']);
      expect(view.summary).toMatch(/^Did: ticket\.opened/);
    } finally {
      await store.close();
    }
  });
});
