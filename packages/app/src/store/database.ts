import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import pg from 'pg';
import { Checkpointer } from './checkpointer.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

/**
 * Who checkpoints the write-ahead log: SQLite inside whichever commit crosses 1,000 pages (`auto`),
 * a thread this connection starts (`background`), or another connection's thread (`elsewhere`,
 * the worker thread's connection while the HTTP thread's runs the checkpointer).
 */
export type Checkpoints = 'auto' | 'background' | 'elsewhere';

/** SQLite file (WAL) for the embedded profile: one writer, so writes are serialised by SQLite itself. */
export async function openSqlite(
  file: string,
  options: { checkpoints?: Checkpoints; onCheckpointError?: (message: string) => void } = {},
): Promise<OpenDatabase> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // never wait for a lock synchronously (that would stop this thread's event loop): the driver
  // below retries a busy statement asynchronously instead
  sqlite.pragma('busy_timeout = 0');
  sqlite.pragma('foreign_keys = ON');
  const checkpoints = file === ':memory:' ? 'auto' : (options.checkpoints ?? 'auto');
  if (checkpoints !== 'auto') sqlite.pragma('wal_autocheckpoint = 0');
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
  const db = new Kysely<Database>({ dialect: new AsyncBusySqliteDialect({ database: cached as unknown as SQLite.Database }) });
  await migrateToLatest(db as Kysely<unknown>);
  const checkpointer = checkpoints === 'background' ? new Checkpointer(file, options.onCheckpointError ?? (() => undefined)) : null;
  checkpointer?.start();
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));

/**
 * SQLite connection whose statements, when another connection (the worker thread) holds the write
 * lock, wait asynchronously and retry, for up to ~5 s, instead of blocking the thread.
 */
class AsyncBusyConnection implements DatabaseConnection {
  constructor(private readonly inner: DatabaseConnection) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.inner.executeQuery<R>(q);
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        if (!code.startsWith('SQLITE_BUSY') || attempt >= 1000) throw e;
        await sleep(attempt < 20 ? 0 : Math.min(10, attempt - 19));
      }
    }
  }

  streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(q, chunkSize);
  }
}

class AsyncBusyDriver extends SqliteDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    return new AsyncBusyConnection(await super.acquireConnection());
  }

  /** Takes the write lock at BEGIN, where waiting for it is safe, never halfway through. */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class AsyncBusySqliteDialect extends SqliteDialect {
  constructor(private readonly cfg: SqliteDialectConfig) {
    super(cfg);
  }

  override createDriver(): SqliteDriver {
    return new AsyncBusyDriver(this.cfg);
  }
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
