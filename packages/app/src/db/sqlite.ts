import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { Checkpointer } from './checkpointer.js';
import type { OpenDatabase } from './connection.js';
import { migrateToLatest } from './migrations.js';
import { type OnQuery, onQueryLog } from './query-log.js';
import type { Database } from './schema.js';
import { WriteTurns } from './write-turns.js';

/**
 * Who checkpoints the write-ahead log: SQLite inside whichever commit crosses 1,000 pages (`auto`),
 * a thread this connection starts (`background`), or another connection's thread (`elsewhere`,
 * the worker thread's connection while the HTTP thread's runs the checkpointer).
 */
export type Checkpoints = 'auto' | 'background' | 'elsewhere';

/**
 * Pages (4 KB) of write-ahead log past which the checkpointer has the log started over, and the
 * size a log file is cut back to when it is (SQLite's `journal_size_limit`).
 */
const WAL_LIMIT_PAGES = 4096;

/** SQLite file (WAL) for the embedded profile: one writer, so writes are serialised by SQLite itself. */
export async function openSqlite(
  file: string,
  options: {
    checkpoints?: Checkpoints;
    onCheckpointError?: (message: string) => void;
    /** Shared with the other connections of this process to the same file (see WriteTurns). */
    turns?: SharedArrayBuffer;
    /** See WAL_LIMIT_PAGES (tests make it small). */
    walLimitPages?: number;
    /** Hears the migrations applied on opening. */
    applied?: (names: string[]) => void;
    /** Hears every statement run (tests read their query plans). */
    onQuery?: OnQuery;
  } = {},
): Promise<OpenDatabase> {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // contacts' identities live here: readable by the app's own user only (SQLite gives its -wal
    // and -shm files the database file's mode); an empty file is an empty database
    try {
      writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // never wait for a lock synchronously (that would stop this thread's event loop): the driver
  // below retries a busy statement asynchronously instead
  sqlite.pragma('busy_timeout = 0');
  sqlite.pragma('foreign_keys = ON');
  // when a writer starts the log over, it cuts the file back to this size
  const walLimitPages = options.walLimitPages ?? WAL_LIMIT_PAGES;
  sqlite.pragma(`journal_size_limit = ${walLimitPages * 4096}`);
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
  const turns = new WriteTurns(options.turns);
  const db = new Kysely<Database>({
    dialect: new AsyncBusySqliteDialect({ database: cached as unknown as SQLite.Database }, sqlite, turns),
    ...(options.onQuery ? { log: onQueryLog(options.onQuery) } : {}),
  });
  const applied = await migrateToLatest(db as Kysely<unknown>);
  options.applied?.(applied);
  const checkpointer =
    checkpoints === 'background'
      ? new Checkpointer(file, options.onCheckpointError ?? (() => undefined), walLimitPages, turns.buffer)
      : null;
  checkpointer?.start();
  return {
    db,
    dialect: 'sqlite',
    ...(file === ':memory:' ? {} : { location: { kind: 'sqlite' as const, file } }),
    writersWaiting: () => turns.waiting(),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/** How long a refused statement waits for a release before it tries again regardless. */
const BUSY_WAIT_MS = 5;
/** A statement refused the lock this many times in a row fails (~5 s). */
const BUSY_TRIES = 1000;

/**
 * SQLite connection whose statements, when another connection (the worker thread) holds the write
 * lock, wait asynchronously for it to be let go and retry, instead of blocking the thread.
 */
class AsyncBusyConnection implements DatabaseConnection {
  constructor(
    private readonly inner: DatabaseConnection,
    private readonly sqlite: SQLite.Database,
    private readonly turns: WriteTurns,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    let registered = false;
    try {
      for (let attempt = 0; ; attempt++) {
        const seen = this.turns.generation();
        const wasInTransaction = this.sqlite.inTransaction;
        try {
          const result = await this.inner.executeQuery<R>(q);
          if (!this.sqlite.inTransaction && (wasInTransaction || !/^\s*select/i.test(q.sql))) this.turns.released();
          return result;
        } catch (e) {
          const code = (e as { code?: string }).code ?? '';
          if (!code.startsWith('SQLITE_BUSY') || attempt >= BUSY_TRIES) throw e;
          if (!registered) {
            registered = true;
            this.turns.enter();
          }
          await this.turns.next(seen, BUSY_WAIT_MS);
        }
      }
    } finally {
      if (registered) this.turns.leave();
    }
  }

  streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(q, chunkSize);
  }
}

class AsyncBusyDriver extends SqliteDriver {
  constructor(
    cfg: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
    private readonly turns: WriteTurns,
  ) {
    super(cfg);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    return new AsyncBusyConnection(await super.acquireConnection(), this.sqlite, this.turns);
  }

  /** Takes the write lock at BEGIN, where waiting for it is safe, never halfway through. */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class AsyncBusySqliteDialect extends SqliteDialect {
  constructor(
    private readonly cfg: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
    private readonly turns: WriteTurns,
  ) {
    super(cfg);
  }

  override createDriver(): SqliteDriver {
    return new AsyncBusyDriver(this.cfg, this.sqlite, this.turns);
  }
}
