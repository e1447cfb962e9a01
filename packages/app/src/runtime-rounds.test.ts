/**
 * A worker's round on PostgreSQL looks once at everything it could do (one statement: ready events
 * counted, raw events, the head of the timers, stalled sends) and runs only what that look found:
 * a side (a unit side by side) per unit of ready events, up to its four, its timers' sides only
 * when one is due.
 */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from './clock.js';
import { dropPostgresSchema, openPostgres } from './db/postgres.js';
import type { InboxSource } from './inbox/inbox-source.js';
import { createLogger } from './logger.js';
import { createRuntime } from './runtime.js';
import { Store } from './store/store.js';
import { TEST_DATABASE_URL } from './store/testing.js';

const T = Date.parse('2026-11-23T10:00:00Z');
const RULESET = loadRuleset(DEFAULT_RULESET);
const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropPostgresSchema(TEST_DATABASE_URL, s);
});

async function setUp(concurrency = 4, sources: (clock: TestClock, store: Store) => InboxSource[] = () => []) {
  const schema = `t_rr_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(schema);
  const statements: string[] = [];
  const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 6, upkeep: 'off', onQuery: (sql) => statements.push(sql) });
  const store = new Store(db);
  const clock = new TestClock(new Date(T));
  const runtime = createRuntime({
    store,
    ruleset: () => RULESET,
    providers: new Map(),
    clock,
    log: createLogger('silent'),
    lease: { ms: 30_000, owner: 'test' },
    concurrency,
    extend: () => ({ sources: sources(clock, store) }),
    // a slow machine's round must not end a side's turn early: each takes until it finds less than a full unit
    eventsSliceMs: 600_000,
  });
  const count = (re: RegExp) => statements.filter((s) => re.test(s)).length;
  return {
    store,
    db,
    runtime,
    clock,
    statements,
    looks: () => count(/^select\s+\(select count\(\*\) from \(select 1 as one from inbox/),
    // the polls the look stands for, each asked alone, and the timers' head asked alone (a busy
    // round judges its timers by the look and by what its own units scheduled: `timerLooks`, none)
    polls: () => count(/^select "id" from "(inbox|attempts)" where .* limit \$\d+$/s),
    timerLooks: () => count(/^select "due_at" from "timers"/),
    takes: () => count(/^\s*with c as materialized \(\s*select id, lane, received_at from inbox/),
    timerClaims: () => count(/^select "id" from "timers" where .* for update skip locked/s),
  };
}

/** `n` ready events, each about a contact nobody stored (applying one fails: it is held back for a retry). */
async function events(store: Store, n: number) {
  for (let k = 0; k < n; k++)
    await store.inbox.accept(
      {
        source: 'api',
        eventId: `e-${k}`,
        type: 'invoice.overdue',
        payload: { source: 'api', id: `e-${k}`, type: 'invoice.overdue', occurredAt: new Date(T).toISOString(), contact: { id: `c-${k}` } },
      },
      T - 1000 + k,
    );
}

describe('a round of the worker (PostgreSQL, four sides)', () => {
  it('with nothing to do, is one statement', async () => {
    const w = await setUp();
    try {
      await w.store.timers.schedule({ kind: 'step', messageId: 'm-later', step: 0 }, T + 60_000, T);
      // the first round also runs the chores (each every few seconds)
      await w.runtime.round();
      w.statements.length = 0;
      expect(await w.runtime.round()).toBe(0);
      expect([w.looks(), w.polls(), w.timerLooks(), w.takes(), w.timerClaims()]).toEqual([1, 0, 0, 0, 0]);
    } finally {
      await w.store.close();
    }
  });

  it('takes a few ready events in one unit, without asking again whether there are any', async () => {
    const w = await setUp();
    try {
      await events(w.store, 3);
      w.statements.length = 0;
      expect(await w.runtime.round()).toBe(3);
      expect([w.looks(), w.takes(), w.polls(), w.timerLooks()]).toEqual([1, 1, 0, 0]);
    } finally {
      await w.store.close();
    }
  });

  it('runs a side for each unit a backlog holds, up to its four', async () => {
    const w = await setUp();
    try {
      await events(w.store, 120);
      w.statements.length = 0;
      expect(await w.runtime.round()).toBe(120);
      // three sides (50, 50, 20, or shared otherwise as their takes meet); a side that took a
      // full unit tries once more: three takes at least, five at most, and never a poll
      expect(w.looks()).toBe(1);
      expect(w.takes()).toBeGreaterThanOrEqual(3);
      expect(w.takes()).toBeLessThanOrEqual(5);
      expect([w.polls(), w.timerLooks()]).toEqual([0, 0]);
    } finally {
      await w.store.close();
    }
  });

  it('with one side (WORKER_CONCURRENCY=1), takes a backlog unit after unit on that side', async () => {
    const w = await setUp(1);
    try {
      await events(w.store, 120);
      w.statements.length = 0;
      expect(await w.runtime.round()).toBe(120);
      expect([w.looks(), w.takes(), w.polls(), w.timerLooks()]).toEqual([1, 3, 0, 0]);
    } finally {
      await w.store.close();
    }
  });

  it('claims in the same round a timer that came due while its events were applied', async () => {
    // a raw event whose source's step takes a minute (a slow CRM call): the timer the look saw
    // pending is due once the step is over
    const w = await setUp(4, (clock) => [
      {
        source: 'slow',
        prepare: async () => {
          clock.advance(60_001);
          return { kind: 'ignore', note: 'nothing to apply' };
        },
      },
    ]);
    try {
      await w.store.timers.schedule({ kind: 'step', messageId: 'm-soon', step: 0 }, T + 60_000, T);
      await w.store.inbox.accept({ source: 'slow', eventId: 'r-1', type: 'raw', payload: {}, stage: 'raw' }, T);
      w.statements.length = 0;
      await w.runtime.round();
      // the head the look saw is due by the clock after the events: claimed without another look
      expect([w.looks(), w.polls(), w.timerLooks()]).toEqual([1, 0, 0]);
      expect(w.timerClaims()).toBeGreaterThanOrEqual(1);
      const [timer] = await w.db.db.selectFrom('timers').select(['claim_owner']).execute();
      expect(timer?.claim_owner).not.toBeNull();
    } finally {
      await w.store.close();
    }
  });

  it("claims in the same round a timer its own units scheduled for now, without asking the database; another process's, in the next", async () => {
    // raw events whose source's step writes a timer due now: `own` through a transaction of this
    // process's store (as a unit that defers a send to now, or a failed send's fallback, does),
    // `other` as another process would, straight into the table
    const w = await setUp(4, (clock, store) => [
      {
        source: 'schedules',
        prepare: async (row) => {
          const now = clock.now().getTime();
          if (row.eventId === 'own')
            await store.transaction((tx) => tx.timers.schedule({ kind: 'step', messageId: 'm-own', step: 0 }, now, now));
          else
            await w.db.db
              .insertInto('timers')
              .values({
                id: 'other-process',
                key: 'm-other:step:0',
                kind: 'step',
                ref: 'm-other',
                due_at: now,
                payload: JSON.stringify({ messageId: 'm-other', step: 0 }),
                claim_owner: null,
                claim_expires_at: null,
                fired_at: null,
                cancelled_at: null,
                created_at: now,
                contact_id: null,
              })
              .execute();
          return { kind: 'ignore', note: 'nothing to apply' };
        },
      },
    ]);
    const taken = async (key: string) => {
      const t = await w.db.db.selectFrom('timers').select(['claim_owner', 'fired_at']).where('key', '=', key).executeTakeFirst();
      return t !== undefined && (t.claim_owner !== null || t.fired_at !== null);
    };
    try {
      await w.store.inbox.accept({ source: 'schedules', eventId: 'other', type: 'raw', payload: {}, stage: 'raw' }, T);
      w.statements.length = 0;
      await w.runtime.round();
      // the look saw none due, and nothing of its own was written: left for the next look
      expect([w.looks(), w.timerLooks(), w.timerClaims()]).toEqual([1, 0, 0]);
      expect(await taken('m-other:step:0')).toBe(false);
      await w.runtime.round();
      expect(await taken('m-other:step:0')).toBe(true);

      await w.store.inbox.accept({ source: 'schedules', eventId: 'own', type: 'raw', payload: {}, stage: 'raw' }, T);
      w.statements.length = 0;
      await w.runtime.round();
      // its own, noted as written: claimed in the round that wrote it, without asking for the head
      expect([w.looks(), w.timerLooks()]).toEqual([1, 0]);
      expect(await taken('m-own:step:0')).toBe(true);
    } finally {
      await w.store.close();
    }
  });

  it('has its sides claim timers only when the look finds one due', async () => {
    const w = await setUp();
    try {
      await w.store.timers.schedule({ kind: 'step', messageId: 'm-later', step: 0 }, T + 60_000, T);
      w.statements.length = 0;
      await w.runtime.round();
      expect(w.timerClaims()).toBe(0);
      // due now: the sides claim it (one of them gets it; the handler finds no such message)
      w.clock.advance(60_001);
      w.statements.length = 0;
      await w.runtime.round();
      expect(w.looks()).toBe(1);
      expect(w.timerClaims()).toBeGreaterThanOrEqual(1);
      const [timer] = await w.db.db.selectFrom('timers').select(['claim_owner']).execute();
      expect(timer?.claim_owner).not.toBeNull();
    } finally {
      await w.store.close();
    }
  });
});
