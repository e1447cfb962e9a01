/**
 * A unit of events reads ahead, in one statement each, what starting their journeys reads (the exit
 * check, the contact's decision state) on PostgreSQL: the same journeys and the same decisions as
 * applying the events one unit each, with two statements for the unit instead of two per event.
 */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { createLogger } from '../logger.js';
import { createRuntime } from '../runtime.js';
import { Store } from '../store/store.js';
import { TEST_DATABASE_URL } from '../store/testing.js';

const T = Date.parse('2026-11-23T10:00:00Z'); // 13:00 in Nairobi
const DAY = 86_400_000;
/** One compiled ruleset, as the rules holder hands out until a publish (what is read ahead is used under the ruleset it was read for). */
const RULESET = loadRuleset(DEFAULT_RULESET);
const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropPostgresSchema(TEST_DATABASE_URL, s);
});

/** A fresh schema with the same contacts and history, and its statements captured. */
async function world() {
  const schema = `t_ra_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(schema);
  const statements: string[] = [];
  const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 3, onQuery: (sql) => statements.push(sql) });
  const store = new Store(db);
  const clock = new TestClock(new Date(T));
  const runtime = createRuntime({
    store,
    ruleset: () => RULESET,
    providers: new Map(),
    clock,
    log: createLogger('silent'),
    lease: { ms: 30_000, owner: 'test' },
    concurrency: 1,
  });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { contact } = await store.contacts.upsert(
      { identities: [{ kind: 'phone', value: `+25471100000${i}` }], timezone: 'Africa/Nairobi', ...(i === 4 ? { vulnerable: true } : {}) },
      T - 30 * DAY,
    );
    ids.push(contact.id);
  }
  const [paidFirst, paidOther, revoked, recent] = [1, 2, 3, 5].map((i) => ids[i] as string) as [string, string, string, string];
  // paid before the overdue notice came: no reminder; paid another invoice: this one's reminder goes
  await store.contactEvents.record(paidFirst, {
    id: 'api:paid-1',
    type: 'invoice.paid',
    at: T - 60_000,
    object: { type: 'invoice', id: 'inv-1' },
    data: {},
  });
  await store.contactEvents.record(paidOther, {
    id: 'api:paid-x',
    type: 'invoice.paid',
    at: T - 60_000,
    object: { type: 'invoice', id: 'inv-x' },
    data: {},
  });
  await store.consent.append(
    revoked,
    { channel: 'sms', purpose: 'service', status: 'revoked', source: 'api', at: '2026-11-01T00:00:00Z' },
    T - 20 * DAY,
  );
  await store.contactEvents.record(recent, { id: 'api:complaint', type: 'complaint.filed', at: T - DAY, data: {} });
  for (const [i, id] of ids.entries())
    await store.inbox.accept(
      {
        source: 'api',
        eventId: `overdue-${i}`,
        type: 'invoice.overdue',
        payload: {
          source: 'api',
          id: `overdue-${i}`,
          type: 'invoice.overdue',
          occurredAt: new Date(T - 120_000).toISOString(),
          contact: { id },
          object: { type: 'invoice', id: `inv-${i}` },
        },
      },
      T,
    );
  statements.length = 0;
  return { store, db, runtime, ids, statements };
}

/** What the events made, per contact (in the order of the contacts), without ids and times. */
async function outcome(db: OpenDatabase, ids: readonly string[]) {
  const messages = await db.db.selectFrom('messages').select(['contact_id', 'type', 'status', 'outcome', 'decision']).execute();
  const journeys = await db.db.selectFrom('journey_instances').select(['contact_id', 'journey_id', 'key', 'status']).execute();
  return ids.map((id) => ({
    messages: messages
      .filter((m) => m.contact_id === id)
      .map((m) => {
        const d = JSON.parse(m.decision as string) as {
          outcome: string;
          reasons: Array<{ code: string; stage: string }>;
          plan: Array<{ channel: string }>;
        };
        return {
          type: m.type,
          status: m.status,
          outcome: m.outcome,
          reasons: d.reasons.map((r) => `${r.stage}:${r.code}`),
          plan: d.plan.map((s) => s.channel),
        };
      }),
    journeys: journeys.filter((j) => j.contact_id === id).map((j) => `${j.journey_id} ${j.key} ${j.status}`),
  }));
}

describe('reading ahead for a unit of events (PostgreSQL)', () => {
  it('starts the same journeys with the same decisions as one unit per event, in two statements for the unit', async () => {
    const together = await world();
    const apart = await world();
    try {
      expect(await together.runtime.inbox.processReady()).toBe(6);
      const ran = together.statements;
      for (let i = 0; i < 6; i++) expect(await apart.runtime.inbox.processReady(1)).toBe(1);

      const got = await outcome(together.db, together.ids);
      expect(got).toEqual(await outcome(apart.db, apart.ids));
      // what the contacts' histories make of it: the reminder for the invoice paid first is not started
      expect(got.map((c) => c.journeys.length)).toEqual([1, 0, 1, 1, 1, 1]);
      expect(got[1]?.messages).toEqual([]);
      expect(got[0]?.messages.map((m) => m.outcome)).toEqual(['send']);
      // the revoked SMS and the vulnerable contact are decided on their own state, not another's
      expect(got[3]?.messages[0]?.plan).not.toContain('sms');
      expect(got[4]?.messages[0]?.outcome).toBe('review');

      // one read of the decision states and one exit check for the six, none per event; no event applied again alone
      const states = ran.filter((s) => /from unnest\(\$\d+::text\[\]\) as x\(id\)/.test(s));
      expect(states).toHaveLength(1);
      expect(ran.filter((s) => /with ordinality as v\(contact_id, types/.test(s))).toHaveLength(1);
      expect(ran.filter((s) => /select "id" from "contact_events"/.test(s))).toHaveLength(0);
      expect(ran.filter((s) => /savepoint "event"$/.test(s.trim()))).toHaveLength(0);
      // one unit each reads apart: a decision state per event that went on
      expect(apart.statements.filter((s) => /from unnest\(\$\d+::text\[\]\) as x\(id\)/.test(s))).toHaveLength(5);
    } finally {
      await together.store.close();
      await apart.store.close();
    }
  });
});
