import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../db/sqlite.js';
import { Store } from '../store/store.js';
import { newMessage } from '../store/testing.js';

const T = Date.parse('2026-11-23T07:00:00Z');

describe('the pressure history', () => {
  it('calls a queued message pending only while no step of it is claimed (one being sent is spent budget), with its priority', async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-pressure-')), 'signalbox.db')));
    try {
      const { contact } = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254711000960' }] }, T);
      const promo = (id: string, priority: string, at: number) =>
        newMessage(id, contact.id, null, {
          type: 'promotional',
          purpose: 'marketing',
          request: { type: 'promotional', priority },
          decision: { outcome: 'send', plan: [{ channel: 'sms', mode: 'primary', content: 'text', estimatedCost: 0 }], reasons: [] },
          createdAt: at,
        });
      await store.messages.create(promo('waiting', 'low', T), T);
      await store.messages.create(promo('sending', 'low', T + 1), T + 1);
      await store.attempts.claim({ messageId: 'sending', step: 0, channel: 'sms', provider: 'sandbox' }, T + 2);
      const history = await store.messages.pressure(contact.id, T - 1000);
      expect(history.map((r) => [r.pending, r.priority]).sort()).toEqual([
        [false, 'low'],
        [true, 'low'],
      ]);
      // at a waiting message's send time: what was decided after it counts only if more important
      await store.messages.create(promo('later-high', 'high', T + 10), T + 10);
      await store.messages.create(promo('later-normal', 'normal', T + 11), T + 11);
      const atGate = await store.messages.pressure(contact.id, T - 1000, { id: 'waiting', createdAt: T, priority: 'normal' });
      expect(atGate.map((r) => r.priority).sort()).toEqual(['high', 'low']);
    } finally {
      await store.close?.();
    }
  });
});
