/**
 * An instance's commands run before its optimistic save, and again when the save finds the
 * instance moved underneath (another unit saved it first). A send step that replaces the unsent
 * messages (`cancelUnsent`) must not take the message its own first run made for one of them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { createRuntime } from '../runtime.js';
import { Store } from '../store/store.js';

describe('a journey save retried', () => {
  it('the escalation’s urgent call survives its own second run: the first message goes, the call stays', async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-journey-retry-')), 'signalbox.db')));
    // 23:00 in Nairobi: the first message waits for the morning
    const clock = new TestClock(new Date('2026-11-23T20:00:00Z'));
    const runtime = createRuntime({
      store,
      ruleset: () => loadRuleset(DEFAULT_RULESET),
      providers: new Map(),
      clock,
      log: createLogger('silent'),
      lease: { ms: 30_000, owner: 'test' },
    });
    const now = clock.now().getTime();
    const { contact } = await store.contacts.upsert(
      { identities: [{ kind: 'phone', value: '+254711000900' }], market: 'KE', timezone: 'Africa/Nairobi' },
      now,
    );
    const object = { type: 'account_issue', id: 'AI-9' };
    const opened = {
      id: 'ai-9',
      source: 'api',
      type: 'account.issue_opened',
      occurredAt: clock.now().toISOString(),
      contact: { id: contact.id },
      object,
    };
    await store.inbox.accept({ source: 'api', eventId: opened.id, type: opened.type, payload: opened }, now);
    for (let i = 0; i < 10 && (await runtime.round()) > 0; i++);
    const [instance] = await store.journeys.forContact(contact.id);
    expect(instance?.journeyId).toBe('account-escalation');
    const instanceId = instance?.id as string;

    // the urgent flag, applied in a unit whose first save loses to another unit's
    await store.transaction(async (tx) => {
      let lost = false;
      const journeys = Object.create(tx.journeys, {
        save: {
          value: async (...args: Parameters<typeof tx.journeys.save>) => {
            if (!lost) {
              lost = true;
              return false;
            }
            return tx.journeys.save(...args);
          },
        },
      }) as typeof tx.journeys;
      const store = new Proxy(tx, { get: (t, k) => (k === 'journeys' ? journeys : Reflect.get(t, k)) });
      await runtime.journeys.advance({ store, sends: null, told: [] }, instanceId, {
        kind: 'event',
        event: {
          id: 'ai-9-urgent',
          type: 'account.issue_urgent',
          occurredAt: clock.now().toISOString(),
          data: {},
          object,
        },
      });
    });
    const messages = await store.messages.forJourneyInstance(instanceId);
    const status = Object.fromEntries(messages.map((m) => [m.template, m.status]));
    expect(status).toEqual({ account_issue_update: 'cancelled', account_issue_call: 'queued' });
    await store.close();
  });
});
