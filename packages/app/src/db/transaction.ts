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

/**
 * Runs `fn` on one connection inside a read-only snapshot: every read sees the database as it was
 * at the first one, and no write lock is taken (SQLite: a deferred transaction on this connection,
 * WAL readers never block the writer; PostgreSQL: REPEATABLE READ, READ ONLY). Give it a
 * connection of its own: on SQLite the snapshot holds the whole connection until `fn` ends.
 */
export async function inReadSnapshot<T>(c: Conn, fn: (snapshot: Conn) => Promise<T>): Promise<T> {
  if (c.db.isTransaction) throw new Error('a read snapshot starts on its own connection, not inside a transaction');
  const db = c.db as Kysely<Database>;
  if (c.dialect === 'postgres')
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute((trx) => fn({ db: trx, dialect: c.dialect }));
  return db.connection().execute(async (conn) => {
    await sql`begin deferred`.execute(conn);
    try {
      return await fn({ db: conn, dialect: c.dialect });
    } finally {
      await sql`commit`.execute(conn);
    }
  });
}
