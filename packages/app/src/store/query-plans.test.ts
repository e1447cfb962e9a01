/**
 * The reads that must stay fast at a million contacts, held to their query plans on both
 * databases: the statements the code actually runs are captured (`onQuery`) and explained —
 * SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN with sequential scans priced out (so the plan
 * shows whether an index *can* serve the statement, whatever the table's size here). Each must
 * reach its rows through an index by a key (SQLite SEARCH, PostgreSQL an index scan with an Index
 * Cond), never a full scan of a table or of an index: the agent card (contact, identities,
 * messages, events, journeys, consent, pending timers, decisions), identity lookups (one, and a
 * sync page's in bulk), a contact's timers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentView } from '../agent-view/agent-view.js';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import { Store } from './store.js';
import {
  type Captured,
  newMessage,
  postgresGenericPlan,
  postgresProblems,
  queryCapture,
  sqliteProblems,
  TEST_DATABASE_URL,
} from './testing.js';

const T = Date.parse('2026-11-23T09:00:00Z');
const rs = loadRuleset(DEFAULT_RULESET);

const dialects = [
  {
    name: 'sqlite' as const,
    async open(onQuery: (sql: string, p: readonly unknown[]) => void) {
      const db = await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-plans-')), 'signalbox.db'), { onQuery });
      return { db, dispose: () => db.close() };
    },
  },
  {
    name: 'postgres' as const,
    async open(onQuery: (sql: string, p: readonly unknown[]) => void) {
      const schema = `plans_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 2, onQuery });
      return {
        db,
        dispose: async () => {
          await db.close();
          await dropPostgresSchema(TEST_DATABASE_URL, schema);
        },
      };
    },
  },
];

for (const d of dialects) {
  describe(`query plans (${d.name})`, () => {
    let db: OpenDatabase;
    let store: Store;
    let dispose: () => Promise<void>;
    const capture = queryCapture();

    beforeAll(async () => {
      const opened = await d.open(capture.onQuery);
      db = opened.db;
      dispose = opened.dispose;
      store = new Store(db);
    });
    afterAll(() => dispose());

    /** The plan of a statement, one line per node. */
    async function plan(q: Captured): Promise<string[]> {
      if (d.name === 'sqlite') {
        const r = await db.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]));
        return r.rows.map((x) => x.detail);
      }
      return db.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${q.sql}`, [...q.parameters]));
        return r.rows.map((x) => x['QUERY PLAN']);
      });
    }

    /**
     * PostgreSQL: the plan a named statement settles on after a few runs (the generic plan, made
     * without the parameters' values: a partial index must then be implied by the query's text).
     */
    async function genericPlan(q: Captured): Promise<string[]> {
      return d.name === 'sqlite' ? plan(q) : postgresGenericPlan(db, q, { seqscan: false });
    }

    const problems = (p: string[]) => (d.name === 'sqlite' ? sqliteProblems(p) : postgresProblems(p));

    /** Every SELECT `run` makes (or every statement `o.which` matches), with its plan's problems (`o.plan`: which plan). */
    async function readsOf(
      run: () => Promise<unknown>,
      o: { which?: RegExp; plan?: (q: Captured) => Promise<string[]> } = {},
    ): Promise<Array<{ sql: string; plan: string[]; problems: string[] }>> {
      const reads = (await capture.during(run)).filter((q) => (o.which ?? /^\s*select/i).test(q.sql));
      const out = [];
      for (const q of reads) {
        const p = await (o.plan ?? plan)(q);
        out.push({ sql: q.sql, plan: p, problems: problems(p) });
      }
      return out;
    }

    async function seed() {
      const { contact } = await store.contacts.upsert(
        {
          identities: [
            { kind: 'hubspot', value: '62515:901' },
            { kind: 'email', value: 'amina@example.com' },
            { kind: 'phone', value: '+254711000901' },
          ],
        },
        T,
      );
      const message = newMessage(`m-${contact.id}`, contact.id, null, { decision: { outcome: 'send', plan: [], reasons: [] } });
      await store.messages.create(message, T);
      await store.timers.schedule({ kind: 'timeout', messageId: message.id, step: 0 }, T + 60_000, T);
      return contact;
    }

    it('the agent card reads by indexed keys only; its timers by timers_contact', async () => {
      const contact = await seed();
      const reads = await readsOf(() => agentView(store, rs, contact, T));
      expect(reads.length).toBeGreaterThanOrEqual(6);
      expect(reads.filter((r) => r.problems.length > 0).map((r) => ({ sql: r.sql, problems: r.problems }))).toEqual([]);
      const timers = reads.find((r) => /from "timers"/.test(r.sql));
      expect(timers?.plan.join('\n')).toMatch(/timers_contact/);
      // and it found the contact's timer
      expect((await agentView(store, rs, contact, T)).next).toMatchObject([{ kind: 'timeout', ref: `m-${contact.id}` }]);
    });

    it('identity lookups: one (findByIdentity, the card and webhooks) and a sync page at once (knownIdentities)', async () => {
      const one = await readsOf(() => store.contacts.findByIdentity('hubspot', '62515:901'));
      const many = await readsOf(() =>
        store.contacts.knownIdentities([
          { kind: 'email', value: 'amina@example.com' },
          { kind: 'phone', value: '+254711000999' },
          { kind: 'hubspot', value: '62515:902' },
        ]),
      );
      expect(one.length).toBeGreaterThanOrEqual(2);
      expect(many.length).toBe(1);
      expect([...one, ...many].filter((r) => r.problems.length > 0).map((r) => ({ sql: r.sql, problems: r.problems }))).toEqual([]);
    });

    it("a contact's pending timers (pendingOf): one range of timers_contact, in due order without a sort", async () => {
      const [read] = await readsOf(() => store.timers.pendingOf('c-unknown', T, 10));
      expect(read?.problems).toEqual([]);
      expect(read?.plan.join('\n')).toMatch(/timers_contact/);
      expect(read?.plan.join('\n')).not.toMatch(/TEMP B-TREE|Sort/);
    });

    it("a batch of receipts reads by index, also with the generic plan a named statement settles on: attempts by provider ids (attempts_provider_id), parked receipts, contacts' data", async () => {
      const contact = (await store.contacts.findByIdentity('hubspot', '62515:901')) ?? (await seed());
      const runs: Array<() => Promise<unknown>> = [
        () => store.attempts.byProviderIds('sandbox', ['p-1', 'p-2']),
        () => store.receipts.takeParkedMany('sandbox', ['p-1', 'p-2']),
        () => store.transaction((tx) => tx.contacts.updateDataMany([contact.id, 'c-unknown'], T, (_, c) => c)),
      ];
      const found: Array<{ sql: string; problems: string[] }> = [];
      for (const run of runs) found.push(...(await readsOf(run, { which: /^\s*(select|delete)/i, plan: genericPlan })));
      expect(found.length).toBeGreaterThanOrEqual(3);
      expect(found.filter((r) => r.problems.length > 0)).toEqual([]);
      if (d.name === 'postgres')
        expect((await genericPlan({ sql: found[0]?.sql as string, parameters: ['sandbox', ['p-1']] })).join('\n')).toMatch(
          /attempts_provider_id/,
        );
    });

    it('the check itself refuses a full scan of a table, and a walk of a whole index filtered row by row', async () => {
      const table = await plan({ sql: `select * from "timers" where "payload" = 'x'`, parameters: [] });
      expect(problems(table)).not.toEqual([]);
      // every pending timer in due order, filtered on something no index holds
      const index = await plan({
        sql: `select * from "timers" where "fired_at" is null and "cancelled_at" is null and "payload" = 'x' order by "due_at"`,
        parameters: [],
      });
      expect(problems(index)).not.toEqual([]);
    });
  });
}
