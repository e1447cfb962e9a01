/**
 * PostgreSQL on tables that were never analysed (autovacuum off, or a fresh deploy before its
 * first visit): the statements that poll and the ones that find timers by id, key or ref, held to
 * the generic plan a named statement settles on, with the planner free to choose (no scan priced
 * out). Without statistics PostgreSQL guesses `fired_at is null and cancelled_at is null` holds
 * for almost no row, so where a statement's text implied a partial index's predicate it walked the
 * whole of `timers_due` for one key; a stage bound as a parameter could not select its partial
 * index at all; `min()` and an unordered `limit 1` were planned as scans of every row.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { inboxRow } from '../inbox/inbox-repository.js';
import type { TimerFor } from '../timers/timer-key.js';
import { Store } from './store.js';
import { type Captured, postgresGenericPlan, postgresProblems, queryCapture, TEST_DATABASE_URL } from './testing.js';

const T = Date.parse('2026-12-06T09:00:00Z');
const PENDING = 2_000;

describe('plans on tables without statistics (PostgreSQL)', () => {
  const schema = `nostats_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  let db: OpenDatabase;
  let store: Store;
  const capture = queryCapture();

  beforeAll(async () => {
    db = await openPostgres(TEST_DATABASE_URL, {
      schema,
      max: 2,
      upkeep: 'off',
      onQuery: capture.onQuery,
    });
    store = new Store(db);
    // whatever the test server's autovacuum does, it leaves these tables unanalysed
    for (const t of ['timers', 'inbox', 'attempts']) await sql`alter table ${sql.id(t)} set (autovacuum_enabled = off)`.execute(db.db);
    // thousands of pending timers (a few due), none analysed
    const timers = Array.from({ length: PENDING }, (_, i) => ({
      t: { kind: 'timeout', messageId: `m-${i}`, step: 0 } as TimerFor,
      dueAt: i < 5 ? T - 1_000 : T + 60_000 + i,
    }));
    await store.timers.scheduleMany(timers, T - 10_000);
  });
  afterAll(async () => {
    await store.close();
    await dropPostgresSchema(TEST_DATABASE_URL, schema);
  });

  /**
   * The statements `run` makes that `which` matches, with their generic plans: each reads by an
   * index key, or reads the head of an index in its order (a Limit right over an index scan).
   */
  async function plansOf(run: () => Promise<unknown>, which: RegExp): Promise<Array<{ sql: string; plan: string }>> {
    const out = [];
    for (const q of (await capture.during(run)).filter((c) => which.test(c.sql))) {
      const plan = await postgresGenericPlan(db, q, { seqscan: true });
      const head = /^Limit/.test(plan[0] ?? '') && /->\s+Index (Only )?Scan using/.test(plan[1] ?? '');
      if (!head) expect(postgresProblems(plan), plan.join('\n')).toEqual([]);
      out.push({ sql: q.sql, plan: plan.join('\n') });
    }
    expect(out.length, `no statement matched ${which}`).toBeGreaterThan(0);
    return out;
  }

  it('the premise: the tables have rows and have never been analysed', async () => {
    const r = await sql<{ reltuples: number }>`select reltuples::float8 as reltuples from pg_class where oid = 'timers'::regclass`.execute(
      db.db,
    );
    expect(Number(r.rows[0]?.reltuples)).toBeLessThan(0);
    expect((await store.timers.pending()).length).toBe(PENDING);
  });

  it('timers found by key, ref or id are looked up by that key, not by walking the pending timers', async () => {
    const cancel = await plansOf(() => store.timers.cancel([{ kind: 'timeout', messageId: 'm-1900', step: 0 }], T), /^update "timers"/);
    expect(cancel[0]?.plan).toMatch(/timers_key_key/);
    const byRef = await plansOf(() => store.timers.cancelFor('m-1901', T), /^update "timers"/);
    expect(byRef[0]?.plan).toMatch(/timers_ref/);
    const complete = await plansOf(() => store.timers.complete('t-unknown', 'w', T), /^update "timers"/);
    expect(complete[0]?.plan).toMatch(/timers_pkey/);
    // the next due, the due ones picked in order, then claimed by id
    const claimed = await plansOf(() => store.timers.claimDue('w', T, 30_000, 10), /"timers"/);
    expect(claimed.map((c) => c.plan.match(/(?:Scan using|Index Scan on) (\w+)/)?.[1])).toEqual([
      'timers_due',
      'timers_due',
      'timers_pkey',
    ]);
    // and they did what they say
    expect((await store.timers.pending()).length).toBe(PENDING - 2);
  });

  it('what the workers poll reads the head of its partial index: the next due timer, waiting events, stalled sends', async () => {
    const next = await plansOf(() => store.timers.nextDue(), /from "timers"/);
    expect(next[0]?.plan).toMatch(/timers_due/);
    expect(next[0]?.plan).toMatch(/Limit/);
    expect(next[0]?.plan).not.toMatch(/Aggregate/);
    expect((await plansOf(() => store.inbox.hasWork(T), /from "inbox"/))[0]?.plan).toMatch(/inbox_pending/);
    expect((await plansOf(() => store.inbox.hasWork(T, 'raw'), /from "inbox"/))[0]?.plan).toMatch(/inbox_raw/);
    const stalled = await plansOf(() => store.attempts.takeStalled(T, { ms: 30_000, owner: 'w' }, 10), /from "attempts"/);
    expect(stalled[0]?.plan).toMatch(/attempts_leased/);
    expect(await store.timers.nextDue()).toBe(T - 1_000);
  });

  it("a round's look asks the four polls at once, each on its own index", async () => {
    const q = (await capture.during(() => store.workAtHand(T, 200))).find((c) => /^select\s+\(select count/.test(c.sql));
    if (q === undefined) throw new Error('the look made no statement');
    const plan = await postgresGenericPlan(db, q, { seqscan: true });
    const text = plan.join('\n');
    for (const index of ['inbox_pending', 'inbox_raw', 'timers_due', 'attempts_leased']) expect(text).toMatch(new RegExp(`using ${index}`));
    expect(text).not.toMatch(/Seq Scan/);
    // each subquery reads the head of its index, in its order: every index scan right under a Limit
    plan.forEach((line, i) => {
      if (/Index (Only )?Scan/.test(line)) expect(plan[i - 1], text).toMatch(/Limit/);
    });
    expect(await store.workAtHand(T, 200)).toEqual({ ready: 0, raw: false, nextDue: T - 1_000, stalled: false });
  });

  it('a group commit of events naming contacts is one statement, each contact read by its key', async () => {
    const row = (eventId: string) => inboxRow({ source: 'plans', eventId, type: 'invoice.overdue', payload: {} }, T);
    const statements = await capture.during(() =>
      store.acceptChecked([
        { rows: [row('p-1')], contacts: ['c-none'] },
        { rows: [row('p-2'), row('p-3')], contacts: ['c-none-2'] },
      ]),
    );
    expect(statements).toHaveLength(1);
    const plan = (await postgresGenericPlan(db, statements[0] as Captured, { seqscan: true })).join('\n');
    expect(plan).toMatch(/using contacts_pkey/);
    expect(plan).not.toMatch(/Seq Scan on contacts/);
  });
});
