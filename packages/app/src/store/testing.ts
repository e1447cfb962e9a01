import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import type { NewMessage } from '../messages/message-record.js';
import { Store } from './store.js';

/** Postgres for tests and CI: the machine's local server (trust auth), database `test`. */
export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface StoreFactory {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; db: OpenDatabase; dispose(): Promise<void> }>;
}

/** Both adapters, each opening a fresh database: a new SQLite file, or a new Postgres schema. */
export const storeFactories: StoreFactory[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'signalbox-store-'));
      const db = await openSqlite(join(dir, 'signalbox.db'));
      const store = new Store(db);
      return { store, db, dispose: () => store.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 5 });
      const store = new Store(db);
      return {
        store,
        db,
        async dispose() {
          await store.close();
          await dropPostgresSchema(TEST_DATABASE_URL, schema);
        },
      };
    },
  },
];

/** A statement as a connection ran it (`onQuery`), for its plan. */
export interface Captured {
  sql: string;
  parameters: readonly unknown[];
}

/** What a connection runs while `during` runs something (give the connection `onQuery`). */
export function queryCapture() {
  let on = false;
  const list: Captured[] = [];
  return {
    onQuery: (q: string, parameters: readonly unknown[]) => {
      if (on) list.push({ sql: q, parameters });
    },
    /** The statements `run` makes. */
    async during(run: () => Promise<unknown>): Promise<Captured[]> {
      list.length = 0;
      on = true;
      try {
        await run();
      } finally {
        on = false;
      }
      return [...list];
    },
  };
}

/** A message to record: a service message of the support team, queued, its decision a send (`extra` changes any of it). */
export const newMessage = (id: string, contactId: string, idempotencyKey: string | null = null, extra: Record<string, unknown> = {}) =>
  ({
    id,
    contactId,
    idempotencyKey,
    journeyInstanceId: null,
    journeyId: null,
    type: 'service',
    purpose: 'service',
    team: 'support',
    workflow: null,
    template: 't',
    status: 'queued' as const,
    outcome: 'send' as const,
    channel: null,
    cost: 0,
    request: { type: 'service', priority: 'normal' },
    decision: { outcome: 'send' },
    ...extra,
  }) as unknown as NewMessage;

/**
 * Why a plan is not an indexed read (empty: it is). SQLite: a SCAN of a table or an index (a
 * VALUES list is scanned as "CONSTANT ROWS", which is fine); sorting what an index search found
 * (a contact's few rows) is fine too, except where a test asks for index order.
 */
export function sqliteProblems(plan: string[]): string[] {
  return plan.filter((line) => /^SCAN /.test(line) && !/CONSTANT ROW/.test(line));
}

export function postgresProblems(plan: string[]): string[] {
  const out: string[] = [];
  plan.forEach((line, i) => {
    if (/Seq Scan/.test(line)) out.push(line.trim());
    if (/Index (Only )?Scan|Bitmap Index Scan/.test(line)) {
      // the node's own detail lines, up to the next node
      const detail: string[] = [];
      for (let k = i + 1; k < plan.length && !/->/.test(plan[k] as string); k++) detail.push(plan[k] as string);
      if (!detail.some((d) => /Index Cond:/.test(d))) out.push(`${line.trim()} (no Index Cond: a full index scan)`);
    }
  });
  return out;
}

/**
 * PostgreSQL: the plan a named statement settles on after a few runs (the generic plan, made
 * without the parameters' values: a partial index must then be implied by the query's text).
 * `seqscan: false` prices sequential scans out (whether an index *can* serve it, whatever the
 * table's size); `true` leaves the planner to choose as it would in production.
 */
let planChecks = 0;

export async function postgresGenericPlan(db: OpenDatabase, q: Captured, o: { seqscan: boolean }): Promise<string[]> {
  const quote = (t: string) => `'${t.replaceAll("'", "''")}'`;
  // an array as an untyped literal ('{…}'), so it takes the parameter's type whatever its elements
  const element = (v: unknown): string =>
    v === null || v === undefined
      ? 'NULL'
      : typeof v === 'number' || typeof v === 'bigint'
        ? String(v)
        : `"${String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const literal = (v: unknown): string =>
    v === null || v === undefined
      ? 'NULL'
      : Array.isArray(v)
        ? quote(`{${v.map(element).join(',')}}`)
        : typeof v === 'number' || typeof v === 'bigint'
          ? String(v)
          : quote(String(v));
  // a name of its own each time: PREPARE outlives a transaction that failed after it
  planChecks += 1;
  const name = `plan_check_${planChecks}`;
  return db.db.transaction().execute(async (trx) => {
    if (!o.seqscan) await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    await sql`SET LOCAL plan_cache_mode = force_generic_plan`.execute(trx);
    await trx.executeQuery(CompiledQuery.raw(`PREPARE ${name} AS ${q.sql}`, []));
    const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(
      CompiledQuery.raw(`EXPLAIN EXECUTE ${name}(${q.parameters.map(literal).join(', ')})`, []),
    );
    await trx.executeQuery(CompiledQuery.raw(`DEALLOCATE ${name}`, []));
    return r.rows.map((x) => x['QUERY PLAN']);
  });
}
