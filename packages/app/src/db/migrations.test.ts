/**
 * Migrations on databases that already hold data (both dialects).
 * - 0060 on pending timers: each pending timer gets the contact of its message or journey
 *   instance; fired and cancelled ones are left alone; the partial index `timers_contact` serves a
 *   contact's timers afterwards.
 * - 0080 on receipts logged twice (the race it closes): each is kept once.
 * - 0090: room left on the pages of the tables updated in place (PostgreSQL only).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../store/testing.js';
import { migrations } from './migrations.js';
import { dropPostgresSchema } from './postgres.js';

const before = (name: string) => Object.fromEntries(Object.entries(migrations).filter(([k]) => k < name)) as Record<string, Migration>;

async function migrate(db: Kysely<unknown>, set: Record<string, Migration>, schema?: string) {
  const r = await new Migrator({
    db,
    provider: { getMigrations: async () => set },
    ...(schema ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  if (r.error) throw r.error;
}

const schemas: string[] = [];
afterAll(async () => {
  for (const s of schemas) await dropPostgresSchema(TEST_DATABASE_URL, s);
});

const dialects = [
  {
    name: 'sqlite',
    async open() {
      const db = new Kysely<unknown>({
        dialect: new SqliteDialect({ database: new SQLite(join(mkdtempSync(join(tmpdir(), 'signalbox-mig-')), 'm.db')) }),
      });
      return { db, schema: undefined };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `mig_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      schemas.push(schema);
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA "${schema}"`);
      await admin.end();
      const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, options: `-c search_path=${schema}` });
      return { db: new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }), schema };
    },
  },
];

describe.each(dialects)('migration 0060 on existing timers ($name)', (d) => {
  it("gives each pending timer its message's or journey's contact, and leaves fired and cancelled ones", async () => {
    const { db, schema } = await d.open();
    try {
      await migrate(db, before('0060'), schema);
      const T = 1_790_000_000_000;
      await sql`INSERT INTO contacts (id, data, merged_into, version, created_at, updated_at) VALUES ('c1', '{}', NULL, 0, ${T}, ${T}), ('c2', '{}', NULL, 0, ${T}, ${T})`.execute(
        db,
      );
      await sql`INSERT INTO messages (id, contact_id, idempotency_key, journey_instance_id, type, purpose, team, workflow, journey_id, template, status, outcome, channel, cost, request, decision, created_at, updated_at)
        VALUES ('m1', 'c1', NULL, NULL, 'service', 'service', NULL, NULL, NULL, NULL, 'queued', 'send', NULL, 0, '{}', '{}', ${T}, ${T})`.execute(
        db,
      );
      await sql`INSERT INTO journey_instances (id, journey_id, key, contact_id, status, state, version, created_at, updated_at)
        VALUES ('j1', 'onboarding', 'k', 'c2', 'active', '{}', 0, ${T}, ${T})`.execute(db);
      const timer = (id: string, kind: string, ref: string, fired: number | null) =>
        sql`INSERT INTO timers (id, key, kind, ref, due_at, payload, claim_owner, claim_expires_at, fired_at, cancelled_at, created_at)
          VALUES (${id}, ${id}, ${kind}, ${ref}, ${T + 1000}, '{}', NULL, NULL, ${fired}, NULL, ${T})`.execute(db);
      await timer('t1', 'timeout', 'm1', null);
      await timer('t2', 'journey', 'j1', null);
      await timer('t3', 'step', 'm1', T);
      await migrate(db, migrations as Record<string, Migration>, schema);
      const rows = await sql<{ id: string; contact_id: string | null }>`SELECT id, contact_id FROM timers ORDER BY id`.execute(db);
      expect(rows.rows).toEqual([
        { id: 't1', contact_id: 'c1' },
        { id: 't2', contact_id: 'c2' },
        { id: 't3', contact_id: null },
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe.each(dialects)('migration 0080 on receipts logged twice ($name)', (d) => {
  it('keeps each receipt once (the earliest) and then refuses a second copy', async () => {
    const { db, schema } = await d.open();
    try {
      await migrate(db, before('0080'), schema);
      const receipt = (id: string, attempt: string, status: string, at: number) =>
        sql`INSERT INTO receipts (id, attempt_id, status, at, detail) VALUES (${id}, ${attempt}, ${status}, ${at}, '{}')`.execute(db);
      await receipt('r1', 'a1', 'delivered', 10);
      await receipt('r2', 'a1', 'delivered', 10); // the race's second copy
      await receipt('r3', 'a1', 'read', 10);
      await receipt('r4', 'a2', 'delivered', 10);
      await receipt('r5', 'a1', 'delivered', 11);
      await migrate(db, migrations as Record<string, Migration>, schema);
      const rows = await sql<{ id: string }>`SELECT id FROM receipts ORDER BY id`.execute(db);
      expect(rows.rows.map((r) => r.id)).toEqual(['r1', 'r3', 'r4', 'r5']);
      await expect(receipt('r6', 'a1', 'delivered', 10)).rejects.toThrow(/unique|UNIQUE/);
    } finally {
      await db.destroy();
    }
  });
});

describe.each(dialects)('migration 0090, room for updates in place ($name)', (d) => {
  it('leaves room on the pages of the tables updated in place (PostgreSQL; nothing on SQLite)', async () => {
    const { db, schema } = await d.open();
    try {
      await migrate(db, migrations as Record<string, Migration>, schema);
      if (d.name === 'sqlite') {
        // nothing to set: the migration is recorded and the tables work as before
        const done = await sql<{ name: string }>`SELECT name FROM kysely_migration WHERE name = '0090_room_for_updates'`.execute(db);
        expect(done.rows).toHaveLength(1);
        return;
      }
      const options = await sql<{ relname: string; reloptions: string[] | null }>`
        SELECT relname, reloptions FROM pg_class WHERE relnamespace = ${schema}::regnamespace AND relkind = 'r'
          AND relname IN ('messages', 'attempts', 'contacts', 'journey_instances', 'inbox') ORDER BY relname`.execute(db);
      expect(options.rows).toEqual([
        { relname: 'attempts', reloptions: ['fillfactor=70'] },
        { relname: 'contacts', reloptions: ['fillfactor=70'] },
        { relname: 'inbox', reloptions: null },
        { relname: 'journey_instances', reloptions: ['fillfactor=70'] },
        { relname: 'messages', reloptions: ['fillfactor=70'] },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
