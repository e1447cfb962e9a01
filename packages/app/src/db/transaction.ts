import { type Kysely, sql, type Transaction } from 'kysely';
import type { Conn } from './connection.js';
import { runPrepared } from './prepared.js';
import type { Database } from './schema.js';

/**
 * Runs `fn` on a connection that is one transaction: the caller's, when it is in one already
 * (nested calls join it), else a new one (committed when `fn` resolves, rolled back when it throws).
 */
export function inTransaction<T>(c: Conn, fn: (tx: Conn) => Promise<T>): Promise<T> {
  if (c.db.isTransaction) return fn(c);
  return (c.db as Kysely<Database>).transaction().execute((trx: Transaction<Database>) => fn({ db: trx, dialect: c.dialect }));
}

/** Savepoints inside a transaction (SQLite and PostgreSQL spell them the same). */
export const savepoints = {
  async set(c: Conn, name: string): Promise<void> {
    await runPrepared(c.db, c.dialect, `savepoint ${name}`, () => ({ compile: () => sql`savepoint ${sql.id(name)}`.compile(c.db) }), []);
  },
  async release(c: Conn, name: string): Promise<void> {
    await runPrepared(
      c.db,
      c.dialect,
      `release ${name}`,
      () => ({ compile: () => sql`release savepoint ${sql.id(name)}`.compile(c.db) }),
      [],
    );
  },
  async rollback(c: Conn, name: string): Promise<void> {
    await sql`rollback to savepoint ${sql.id(name)}`.execute(c.db);
    await sql`release savepoint ${sql.id(name)}`.execute(c.db);
  },
};
