import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../store/testing.js';
import type { OpenDatabase } from './connection.js';
import { markHot, statementName } from './named-statements.js';
import { dropPostgresSchema, openPostgres } from './postgres.js';
import { arg, runPrepared } from './prepared.js';

describe('named statements (PostgreSQL)', () => {
  let open: OpenDatabase | null = null;
  let schema = '';
  afterEach(async () => {
    await open?.close();
    open = null;
    if (schema !== '') await dropPostgresSchema(TEST_DATABASE_URL, schema);
  });

  const prepared = async (db: OpenDatabase) =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db.db)).rows.map((r) => r.statement);

  it('one name per hot statement text; other statements, and those whose columns follow the table, are left unnamed', () => {
    markHot('select "id" from "contacts" where "id" = $1');
    const a = statementName('select "id" from "contacts" where "id" = $1');
    expect(a).toMatch(/^sb[0-9a-z]+$/);
    expect(statementName('select "id" from "contacts" where "id" = $1')).toBe(a);
    markHot('select "id" from "messages" where "id" = $1');
    expect(statementName('select "id" from "messages" where "id" = $1')).not.toBe(a);
    // not built by prepared(): a text that may vary with the data
    expect(statementName('select "id" from "contacts" where "id" in ($1, $2, $3)')).toBeNull();
    for (const star of [
      'select * from "attempts" where "claim" = $1',
      'delete from "pending_receipts" where "provider" = $1 returning *',
      'select "a".* from "attempts" as "a" where "a"."id" = $1',
    ]) {
      markHot(star);
      expect(statementName(star)).toBeNull();
    }
  });

  it('the server parses a hot statement once per connection, and answers it the same; other statements are not kept', async () => {
    schema = `t_named_${Date.now().toString(36)}`;
    open = await openPostgres(TEST_DATABASE_URL, { schema, max: 1 });
    const db = open.db;
    const hotQuery = (n: unknown) =>
      runPrepared<{ v: number }>(
        db,
        'postgres',
        'test: plus one',
        () => ({ compile: () => sql<{ v: number }>`select ${arg(0)}::int + 1 as v`.compile(db) }),
        [n],
      );
    expect((await hotQuery(1)).rows).toEqual([{ v: 2 }]);
    expect((await hotQuery(41)).rows).toEqual([{ v: 42 }]);
    await sql`select ${5}::int * 3 as v`.execute(db);
    const statements = await prepared(open);
    expect(statements.filter((s) => s.includes('::int + 1'))).toHaveLength(1);
    expect(statements.filter((s) => s.includes('::int * 3'))).toHaveLength(0);
    // a statement that fails leaves the connection working (and its name usable again)
    await expect(hotQuery('x')).rejects.toThrow(/invalid input syntax/);
    expect((await hotQuery('7')).rows).toEqual([{ v: 8 }]);
  });

  it('can be turned off (a pooler that cannot keep prepared statements)', async () => {
    schema = `t_unnamed_${Date.now().toString(36)}`;
    open = await openPostgres(TEST_DATABASE_URL, { schema, max: 1, namedStatements: false });
    const db = open.db;
    await runPrepared(db, 'postgres', 'test: times two', () => ({ compile: () => sql`select ${arg(0)}::int * 2 as v`.compile(db) }), [3]);
    expect((await prepared(open)).filter((s) => s.includes('::int * 2'))).toHaveLength(0);
    expect(open.location).toMatchObject({ kind: 'postgres', namedStatements: false });
  });
});
