import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../store/testing.js';
import type { OpenDatabase } from './connection.js';
import { statementName } from './named-statements.js';
import { dropPostgresSchema, openPostgres } from './postgres.js';

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

  it('one name per statement text; statements whose columns follow the table are left unnamed', () => {
    const a = statementName('select "id" from "contacts" where "id" = $1');
    expect(a).toMatch(/^sb[0-9a-z]+$/);
    expect(statementName('select "id" from "contacts" where "id" = $1')).toBe(a);
    expect(statementName('select "id" from "messages" where "id" = $1')).not.toBe(a);
    expect(statementName('select * from "attempts" where "claim" = $1')).toBeNull();
    expect(statementName('delete from "pending_receipts" where "provider" = $1 returning *')).toBeNull();
    expect(statementName('select "a".* from "attempts" as "a" where "a"."id" = $1')).toBeNull();
  });

  it('the server parses a repeated statement once per connection, and answers it the same', async () => {
    schema = `t_named_${Date.now().toString(36)}`;
    open = await openPostgres(TEST_DATABASE_URL, { schema, max: 1 });
    const q = (n: number) => sql<{ v: number }>`select ${n}::int + 1 as v`.execute(open?.db as OpenDatabase['db']);
    expect((await q(1)).rows).toEqual([{ v: 2 }]);
    expect((await q(41)).rows).toEqual([{ v: 42 }]);
    const statements = await prepared(open);
    expect(statements.filter((s) => s.includes('::int + 1'))).toHaveLength(1);
    // a statement that fails leaves the connection working (and its name usable again)
    await expect(sql`select ${'x'}::int as v`.execute(open.db)).rejects.toThrow(/invalid input syntax/);
    expect((await sql<{ v: number }>`select ${'7'}::int as v`.execute(open.db)).rows).toEqual([{ v: 7 }]);
  });

  it('can be turned off (a pooler that cannot keep prepared statements)', async () => {
    schema = `t_unnamed_${Date.now().toString(36)}`;
    open = await openPostgres(TEST_DATABASE_URL, { schema, max: 1, namedStatements: false });
    await sql`select ${3}::int * 2 as v`.execute(open.db);
    expect((await prepared(open)).filter((s) => s.includes('::int * 2'))).toHaveLength(0);
    expect(open.location).toMatchObject({ kind: 'postgres', namedStatements: false });
  });
});
