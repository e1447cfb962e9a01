import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../store/store.js';
import { TEST_DATABASE_URL } from '../store/testing.js';
import type { TimerFor } from '../timers/timer-key.js';
import type { OpenDatabase, UpkeepMode } from './connection.js';
import { dropPostgresSchema, openPostgres } from './postgres.js';
import { upkeepOf } from './table-upkeep.js';

const T = Date.parse('2026-12-06T09:00:00Z');

describe('what a table needs (autovacuum off)', () => {
  it('analysed first after 50 changes, then each time it has doubled; vacuumed past 50 + 20 % dead', () => {
    const need = (rows: number | null, live: number, changed: number, dead: number) => upkeepOf({ name: 't', rows, live, changed, dead });
    expect(need(null, 40, 50, 0)).toEqual({ vacuum: false, analyze: false });
    expect(need(null, 51, 51, 0)).toEqual({ vacuum: false, analyze: true });
    // analysed at 1,000 rows: updates alone do not call for another analysis, growth does
    expect(need(1_000, 1_000, 5_000, 240)).toEqual({ vacuum: false, analyze: false });
    expect(need(1_000, 2_051, 1_051, 0)).toEqual({ vacuum: false, analyze: true });
    expect(need(1_000, 1_000, 300, 251)).toEqual({ vacuum: true, analyze: false });
    expect(need(null, 0, 100, 51)).toEqual({ vacuum: true, analyze: true });
  });
});

describe('table upkeep (PostgreSQL)', () => {
  let open: OpenDatabase | null = null;
  let store: Store | null = null;
  let schema = '';
  afterEach(async () => {
    await store?.close();
    store = null;
    open = null;
    if (schema !== '') await dropPostgresSchema(TEST_DATABASE_URL, schema);
    schema = '';
  });

  async function storeWith(upkeep: UpkeepMode) {
    schema = `t_upkeep_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    open = await openPostgres(TEST_DATABASE_URL, { schema, max: 2, upkeep });
    store = new Store(open);
    // whatever the test server's autovacuum does, it leaves these tables to the test
    await sql`alter table timers set (autovacuum_enabled = off)`.execute(open.db);
    return { store, db: open.db };
  }

  /** 300 pending timers, 120 of them then cancelled (dead rows), with the counters flushed to where every session sees them. */
  async function churn(s: Store, db: OpenDatabase['db']) {
    await s.transaction(async (tx) => {
      await tx.timers.scheduleMany(
        Array.from({ length: 300 }, (_, i) => ({ t: { kind: 'timeout', messageId: `m-${i}`, step: 0 } as TimerFor, dueAt: T + i })),
        T,
      );
    });
    await s.timers.cancel(
      Array.from({ length: 120 }, (_, i) => ({ kind: 'timeout', messageId: `m-${i}`, step: 0 }) as TimerFor),
      T,
    );
    // a session's counters reach the shared statistics within a second or so of its going idle
    for (let i = 0; i < 100; i++) {
      const r = await sql<{ changed: string }>`
        select n_mod_since_analyze as changed from pg_stat_user_tables
        where schemaname = current_schema() and relname = 'timers'`.execute(db);
      if (Number(r.rows[0]?.changed) >= 420) return;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('the timers table’s counters never showed the changes');
  }

  const timersTable = async (db: OpenDatabase['db']) =>
    (
      await sql<{ reltuples: number; vacuumed: unknown; analysed: unknown }>`
        select c.reltuples::float8 as reltuples, s.last_vacuum as vacuumed, s.last_analyze as analysed
        from pg_stat_user_tables s join pg_class c on c.oid = s.relid
        where s.schemaname = current_schema() and s.relname = 'timers'`.execute(db)
    ).rows[0];

  it('on: vacuums and analyzes the tables past their thresholds (statistics where there were none), then leaves them until they change', async () => {
    const { store: s, db } = await storeWith('on');
    await churn(s, db);
    expect((await timersTable(db))?.reltuples).toBeLessThan(0);
    // the worker's chore starts a round in the background; the next call tells what it did
    const upkeep = s.tableUpkeep();
    expect(await upkeep.run()).toBe(0);
    await upkeep.settled();
    expect(await upkeep.run()).toBeGreaterThanOrEqual(1);
    await upkeep.settled();
    const after = await timersTable(db);
    expect(after?.reltuples).toBe(300);
    expect(after?.vacuumed).not.toBeNull();
    expect(after?.analysed).not.toBeNull();
    // with the rounds' statistics target (10, not the server's 100): 300 distinct due times, 11 bounds
    const bounds = await sql<{ n: number }>`
      select array_length(histogram_bounds::text::text[], 1) as n from pg_stats
      where schemaname = current_schema() and tablename = 'timers' and attname = 'due_at'`.execute(db);
    expect(bounds.rows[0]?.n).toBe(11);
    // nothing changed since: nothing to do
    expect(await upkeep.round()).toEqual([]);
    expect(await s.tableUpkeep().round()).toEqual([]);
  });

  it('a table another instance vacuumed moments ago is left, though a transaction elsewhere keeps its dead rows', async () => {
    const { store: s, db } = await storeWith('on');
    // an old snapshot held open elsewhere: VACUUM cannot remove the rows cancelled after it
    const other = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin isolation level repeatable read');
      await other.query('select 1');
      await churn(s, db);
      const first = s.tableUpkeep();
      expect(await first.round()).toContain('timers');
      const dead = await sql<{ dead: string }>`
        select n_dead_tup as dead from pg_stat_user_tables where schemaname = current_schema() and relname = 'timers'`.execute(db);
      expect(Number(dead.rows[0]?.dead)).toBeGreaterThan(0);
      // another instance's round (no memory of its own) goes by when the server last vacuumed it
      expect(await s.tableUpkeep().round()).toEqual([]);
    } finally {
      await other.query('rollback');
      await other.end();
    }
  });

  it('leaves alone the tables in the schema that are not Signalbox’s, whatever their names; stops when told', async () => {
    const { store: s, db } = await storeWith('on');
    await sql`create table "someone.else" (id int)`.execute(db);
    await sql`insert into "someone.else" select generate_series(1, 300)`.execute(db);
    await sql`delete from "someone.else" where id <= 200`.execute(db);
    await churn(s, db);
    const upkeep = s.tableUpkeep();
    const looked = await upkeep.round();
    expect(looked).toContain('timers');
    expect(looked).not.toContain('someone.else');
    const other = await sql<{ vacuumed: unknown; analysed: unknown }>`
      select last_vacuum as vacuumed, last_analyze as analysed from pg_stat_user_tables
      where schemaname = current_schema() and relname = 'someone.else'`.execute(db);
    expect(other.rows[0]).toEqual({ vacuumed: null, analysed: null });
    await upkeep.stop();
    expect(await upkeep.run()).toBe(0);
    expect(await upkeep.round()).toEqual([]);
  });

  it('off: never touches a table, however many dead rows it has', async () => {
    const { store: s, db } = await storeWith('off');
    await churn(s, db);
    const upkeep = s.tableUpkeep();
    expect(await upkeep.run()).toBe(0);
    await upkeep.settled();
    const t = await timersTable(db);
    expect(t?.reltuples).toBeLessThan(0);
    expect(t?.vacuumed).toBeNull();
  });

  it('auto: does the work only where the server’s autovacuum is off', async () => {
    const { store: s, db } = await storeWith('auto');
    await churn(s, db);
    const autovacuum = (await sql<{ on: string }>`select current_setting('autovacuum') as on`.execute(db)).rows[0]?.on;
    const looked = await s.tableUpkeep().round();
    if (autovacuum === 'off') expect(looked).toContain('timers');
    else expect(looked).toEqual([]);
  });
});
