import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

/** SQLite file (WAL) for the embedded profile: one writer, so writes are serialised by SQLite itself. */
export async function openSqlite(file: string): Promise<OpenDatabase> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Kysely prepares every query anew; better-sqlite3 statements are reusable, so keep them
  const statements = new Map<string, SQLite.Statement>();
  const cached = {
    close: () => sqlite.close(),
    prepare: (source: string) => {
      let st = statements.get(source);
      if (st === undefined) {
        st = sqlite.prepare(source);
        if (statements.size > 2000) statements.clear();
        statements.set(source, st);
      }
      return st;
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached as unknown as SQLite.Database }) });
  await migrateToLatest(db as Kysely<unknown>);
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

const INT8_OID = 20;

/** PostgreSQL for production. `schema` isolates a test run; epoch-ms bigints come back as numbers. */
export async function openPostgres(url: string, options: { schema?: string; max?: number } = {}): Promise<OpenDatabase> {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
  };
  if (options.schema !== undefined) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
    await admin.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db as Kysely<unknown>);
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** Drops a test schema and everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  await admin.end();
}
