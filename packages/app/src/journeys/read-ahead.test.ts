/**
 * A unit of events does ahead, in one statement each, what starting their journeys takes (the exit
 * checks, the journey instances, the contacts' decision states, the first messages with their
 * claims) on PostgreSQL: the same journeys, decisions and sends as applying the events one unit
 * each, with four statements for the unit instead of four per event.
 */
import { type CompiledRuleset, DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
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
async function world(ruleset: () => CompiledRuleset = () => RULESET) {
  const schema = `t_ra_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(schema);
  const statements: string[] = [];
  const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 3, onQuery: (sql) => statements.push(sql) });
  const store = new Store(db);
  const clock = new TestClock(new Date(T));
  const runtime = createRuntime({
    store,
    ruleset,
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
  for (let i = 0; i < 9; i++) {
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
  // in the order received: the last three are about invoices others' events name too (one
  // reminder per invoice: the first event's); the eighth contact has two events in the unit
  const events: Array<[number, string]> = [0, 1, 2, 3, 4, 5, 6, 7, 7, 8].map((c, k) => [
    c,
    k === 6 ? 'inv-0' : k >= 8 ? 'inv-8' : `inv-${k}`,
  ]);
  for (const [k, [c, invoice]] of events.entries())
    await store.inbox.accept(
      {
        source: 'api',
        eventId: `overdue-${k}`,
        type: 'invoice.overdue',
        payload: {
          source: 'api',
          id: `overdue-${k}`,
          type: 'invoice.overdue',
          occurredAt: new Date(T - 120_000).toISOString(),
          contact: { id: ids[c] },
          object: { type: 'invoice', id: invoice },
        },
      },
      T - 1000 + k,
    );
  statements.length = 0;
  return { store, db, runtime, ids, statements };
}

/** What the events made, per contact (in the order of the contacts), without ids and times. */
async function outcome(db: OpenDatabase, ids: readonly string[]) {
  const messages = await db.db.selectFrom('messages').select(['contact_id', 'type', 'status', 'outcome', 'decision']).execute();
  const journeys = await db.db.selectFrom('journey_instances').select(['contact_id', 'journey_id', 'key', 'status']).execute();
  const timers = await db.db.selectFrom('timers').select(['contact_id', 'kind', 'fired_at', 'cancelled_at']).execute();
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
    timers: timers
      .filter((t) => t.contact_id === id)
      .map((t) => `${t.kind} ${t.fired_at === null ? 'pending' : 'fired'} ${t.cancelled_at === null ? '' : 'cancelled'}`)
      .sort(),
  }));
}

describe('reading ahead for a unit of events (PostgreSQL)', () => {
  const count = (statements: readonly string[], re: RegExp) => statements.filter((s) => re.test(s)).length;
  const STATES = /from unnest\(\$\d+::text\[\]\) as x\(id\)/;

  it('starts the same journeys with the same decisions as one unit per event, in four statements for the unit', async () => {
    const together = await world();
    const apart = await world();
    try {
      expect(await together.runtime.inbox.processReady()).toBe(10);
      const ran = together.statements;
      for (let i = 0; i < 10; i++) expect(await apart.runtime.inbox.processReady(1)).toBe(1);

      const got = await outcome(together.db, together.ids);
      expect(got).toEqual(await outcome(apart.db, apart.ids));
      // what the contacts' histories make of it: the reminder for the invoice paid first is not
      // started; an invoice another event named first is that event's contact's (the eighth
      // contact's second event, though it was not done ahead)
      expect(got.map((c) => c.journeys.length)).toEqual([1, 0, 1, 1, 1, 1, 0, 2, 0]);
      expect(got[6]?.messages).toEqual([]);
      expect(got[8]?.messages).toEqual([]);
      expect(got[1]?.messages).toEqual([]);
      expect(got[0]?.messages.map((m) => m.outcome)).toEqual(['send']);
      expect(got[0]?.messages.map((m) => m.status)).toEqual(['sent']);
      expect(got.map((c) => c.sent.length)).toEqual([1, 0, 1, 0, 0, 1, 0, 2, 0]);
      // the revoked SMS and the vulnerable contact are decided on their own state, not another's
      expect(got[3]?.messages[0]?.plan).not.toContain('sms');
      expect(got[4]?.messages[0]?.outcome).toBe('review');
      // each started journey waits for its next step
      expect(got[0]?.timers).toEqual(['journey pending ']);

      // ahead, for the eight events alone on their contact: one exit check, one insert of the
      // instances, one read of the decision states, one insert of the messages sent now with their
      // claims; at their turn: the eighth contact's two events (each its exit check, instance,
      // state and message), the two whose invoice was taken (their instance, refused), and the
      // two messages not sent now (held for review, no channel to use now) recorded one by one;
      // no event applied again alone
      expect(count(ran, /with ordinality as v\(contact_id, types/)).toBe(1);
      expect(count(ran, /select "id" from "contact_events"/)).toBe(2);
      expect(count(ran, /^insert into journey_instances .* from unnest/s)).toBe(1);
      expect(count(ran, /^insert into "journey_instances"/)).toBe(4);
      expect(count(ran, STATES)).toBe(1 + 2);
      expect(count(ran, /^with m as \(\s*insert into messages .* from unnest/s)).toBe(1);
      expect(count(ran, /insert into "?messages"? \(.*\) values/s)).toBe(2 + 2);
      expect(count(ran, /savepoint "event"$/)).toBe(0);
      // one unit each reads apart: a decision state per message decided
      expect(count(apart.statements, STATES)).toBe(7);
    } finally {
      await together.store.close();
      await apart.store.close();
    }
  });

  it('a ruleset published while the unit runs: its events are applied again one by one, under the new one, nothing left half started', async () => {
    // a new compiled ruleset at every call, as the rules holder hands out after a publish
    const together = await world(() => loadRuleset(DEFAULT_RULESET));
    const apart = await world();
    try {
      expect(await together.runtime.inbox.processReady()).toBe(10);
      for (let i = 0; i < 10; i++) expect(await apart.runtime.inbox.processReady(1)).toBe(1);
      expect(await outcome(together.db, together.ids)).toEqual(await outcome(apart.db, apart.ids));
      // what was done ahead was rolled back with the unit's savepoint; each event then went alone
      expect(count(together.statements, /^rollback to savepoint "events"/)).toBe(1);
      expect(count(together.statements, /^savepoint "event"$/)).toBe(10);
      const inbox = await together.db.db.selectFrom('inbox').select(['processed_at', 'attempts', 'error']).execute();
      expect(inbox.every((r) => r.processed_at !== null && Number(r.attempts) === 0 && r.error === null)).toBe(true);
    } finally {
      await together.store.close();
      await apart.store.close();
    }
  });
});
