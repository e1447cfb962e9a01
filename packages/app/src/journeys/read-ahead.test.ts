/**
 * A unit of events does ahead, in one statement each, what starting their journeys takes (the exit
 * checks, the journey instances, the contacts' decision states, the first messages with their
 * claims) on PostgreSQL: the same journeys, decisions and sends as applying the events one unit
 * each, with four statements for the unit instead of four per event.
 */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { createLogger } from '../logger.js';
import { SandboxProvider } from '../providers/sandbox/sandbox-provider.js';
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
    // the sandbox records what is sent in its own table: both worlds' sends are compared
    providers: new Map([
      [
        'sandbox',
        new SandboxProvider({
          sends: store.sandbox,
          log: createLogger('silent'),
          secret: 'sandbox-secret-0123456789abcdef',
          receiptUrl: () => null,
          now: () => clock.now().getTime(),
        }),
      ],
    ]),
    clock,
    log: createLogger('silent'),
    lease: { ms: 30_000, owner: 'test' },
    concurrency: 1,
  });
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
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
          // the last is about the first one's invoice: one reminder per invoice, the first event's
          object: { type: 'invoice', id: `inv-${i === 6 ? 0 : i}` },
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
  const sent = await db.db
    .selectFrom('sandbox_sends')
    .innerJoin('attempts', 'attempts.claim', 'sandbox_sends.claim')
    .innerJoin('messages', 'messages.id', 'attempts.message_id')
    .select(['messages.contact_id', 'sandbox_sends.channel', 'sandbox_sends.address', 'attempts.status'])
    .execute();
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
    sent: sent.filter((x) => x.contact_id === id).map((x) => `${x.channel} ${x.address} ${x.status}`),
  }));
}

describe('reading ahead for a unit of events (PostgreSQL)', () => {
  it('starts the same journeys with the same decisions as one unit per event, in four statements for the unit', async () => {
    const together = await world();
    const apart = await world();
    try {
      expect(await together.runtime.inbox.processReady()).toBe(7);
      const ran = together.statements;
      for (let i = 0; i < 7; i++) expect(await apart.runtime.inbox.processReady(1)).toBe(1);

      const got = await outcome(together.db, together.ids);
      expect(got).toEqual(await outcome(apart.db, apart.ids));
      // what the contacts' histories make of it: the reminder for the invoice paid first is not started
      expect(got.map((c) => c.journeys.length)).toEqual([1, 0, 1, 1, 1, 1, 0]);
      expect(got[6]?.messages).toEqual([]);
      expect(got[1]?.messages).toEqual([]);
      expect(got[0]?.messages.map((m) => m.outcome)).toEqual(['send']);
      expect(got[0]?.messages.map((m) => m.status)).toEqual(['sent']);
      expect(got.map((c) => c.sent.length)).toEqual([1, 0, 1, 0, 0, 1, 0]);
      // the revoked SMS and the vulnerable contact are decided on their own state, not another's
      expect(got[3]?.messages[0]?.plan).not.toContain('sms');
      expect(got[4]?.messages[0]?.outcome).toBe('review');

      // one exit check, one insert of the instances and one read of the decision states for the
      // seven; per event only the one whose invoice another event took (at its turn: taken); no
      // event applied again alone
      const states = ran.filter((s) => /from unnest\(\$\d+::text\[\]\) as x\(id\)/.test(s));
      expect(states).toHaveLength(1);
      expect(ran.filter((s) => /with ordinality as v\(contact_id, types/.test(s))).toHaveLength(1);
      expect(ran.filter((s) => /^insert into journey_instances .* from unnest/s.test(s))).toHaveLength(1);
      expect(ran.filter((s) => /^insert into "journey_instances"/.test(s))).toHaveLength(1);
      // the first messages of the three sent now, recorded and claimed together; the two that are
      // not (held for review, no channel to use now) recorded one by one
      expect(ran.filter((s) => /^with m as \(\s*insert into messages .* from unnest/s.test(s))).toHaveLength(1);
      expect(ran.filter((s) => /insert into "?messages"? \(.*\) values/s.test(s))).toHaveLength(2);
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
