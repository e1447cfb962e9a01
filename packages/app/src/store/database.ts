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
  /** How many other connections are waiting for SQLite's write lock (always 0 on PostgreSQL). */
  writersWaiting?: () => number;
}

/**
 * Turn-taking hints shared, through memory, by the connections of one process to one SQLite file
 * (the HTTP thread's and the worker thread's). SQLite's own lock stays the only lock; this only
 * decides who tries when: a connection refused the lock (SQLITE_BUSY) says it is waiting and sleeps
 * until the holder releases it (woken at once, not after a poll), and a holder that sees someone
 * waiting (a receipt batch on the HTTP thread) commits early. Handing over at every chance costs:
 * letting a waiting connection go first before each BEGIN, or ending the worker's event group
 * early, lowered throughput and raised latency (measured), so neither is done.
 */
export class WriteTurns {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.cells = new Int32Array(buffer);
  }

  /** Bumped whenever a connection lets go of the write lock. */
  generation(): number {
    return Atomics.load(this.cells, 0);
  }

  released(): void {
    Atomics.add(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
  }

  waiting(): number {
    return Atomics.load(this.cells, 1);
  }

  enter(): void {
    Atomics.add(this.cells, 1, 1);
  }

  leave(): void {
    Atomics.sub(this.cells, 1, 1);
  }

  /** Resolves when the lock is let go after `seen`, or after `ms`, without blocking the thread. */
  async next(seen: number, ms: number): Promise<void> {
    const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.cells, 0, seen, ms);
    if (!r.async) return;
    // a pending waitAsync does not keep the event loop alive (a process whose only other
    // connection is the checkpointer's thread would exit mid-wait); this timer does
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

interface AtomicsWaitAsync {
  waitAsync(
    a: Int32Array,
    index: number,
    value: number,
    timeout: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

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
  } = {},
): Promise<OpenDatabase> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
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
  });
  await migrateToLatest(db as Kysely<unknown>);
  const checkpointer =
    checkpoints === 'background'
      ? new Checkpointer(file, options.onCheckpointError ?? (() => undefined), walLimitPages, turns.buffer)
      : null;
  checkpointer?.start();
  return {
    db,
    dialect: 'sqlite',
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
