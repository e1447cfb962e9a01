import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { AppError } from '../errors.js';
import type { OpenDatabase, UpkeepMode } from './connection.js';
import { DeadlineWatch } from './deadline-client.js';
import { withMigrationLock } from './migration-lock.js';
import { migrateToLatest, pendingMigrations } from './migrations.js';
import { NamingClient } from './named-statements.js';
import { type OnQuery, onQueryLog } from './query-log.js';
import type { Database } from './schema.js';

const INT8_OID = 20;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * PostgreSQL for production. `schema` isolates a test run; epoch-ms bigints come back as numbers.
 * `migrations`: `apply` what is missing (under the migration lock, see migration-lock.ts), or only
 * `verify` that nothing is (another connection of this process, or `MIGRATE_ON_START=off` after
 * `pnpm migrate`); `applied` hears what was applied.
 */
export async function openPostgres(
  url: string,
  options: {
    schema?: string;
    max?: number;
    migrations?: 'apply' | 'verify';
    applied?: (names: string[]) => void;
    onQuery?: OnQuery;
    /** Name parametrised statements so the server parses each once per connection (default on; off behind a pooler that cannot keep them, e.g. PgBouncer in transaction mode before 1.21). */
    namedStatements?: boolean;
    /** Signalbox's own VACUUM and ANALYZE of its tables (`auto`, the default: where autovacuum is off; see table-upkeep.ts). */
    upkeep?: UpkeepMode;
    /** How long to wait for a connection to open (default 5 s; the server unreachable or hung). */
    connectTimeoutMs?: number;
    /** How long a statement may go unanswered before its connection is dropped (default 30 s; 0: none; see deadline-client.ts). */
    queryTimeoutMs?: number;
    /** A connection lost while idle in the pool (a server restart, a terminated session): the pool drops it and opens another when needed. */
    onConnectionError?: (err: Error) => void;
  } = {},
): Promise<OpenDatabase> {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
  };
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (options.schema !== undefined) {
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
    await admin.end();
  }
  // no deadline while migrating (an index build on a large table may rightly take minutes)
  const watch = new DeadlineWatch({ ms: 0 }, (err) => options.onConnectionError?.(err));
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    Client: watch.clientClass(options.namedStatements !== false ? NamingClient : pg.Client),
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // without a listener, a connection lost while idle (a restart, pg_terminate_backend) would end the process
  pool.on('error', (err) => options.onConnectionError?.(err));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    ...(options.onQuery ? { log: onQueryLog(options.onQuery) } : {}),
  });
  const schema = options.schema ?? 'public';
  try {
    if (options.migrations === 'verify') {
      const pending = await pendingMigrations(db as Kysely<unknown>, schema);
      if (pending.length > 0) throw new MigrationsPendingError(pending);
    } else {
      const applied = await withMigrationLock(url, schema, () => migrateToLatest(db as Kysely<unknown>, schema), connectTimeoutMs);
      options.applied?.(applied);
    }
  } catch (err) {
    watch.stop();
    await db.destroy();
    throw err;
  }
  watch.deadline.ms = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  return {
    db,
    dialect: 'postgres',
    location: {
      kind: 'postgres',
      url,
      ...(options.schema !== undefined ? { schema: options.schema } : {}),
      ...(options.namedStatements === false ? { namedStatements: false } : {}),
      ...(options.upkeep !== undefined && options.upkeep !== 'auto' ? { upkeep: options.upkeep } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.queryTimeoutMs !== undefined ? { queryTimeoutMs: options.queryTimeoutMs } : {}),
    },
    close: () => {
      watch.stop();
      return db.destroy();
    },
    listen: (channel, onPayload) => listen(url, channel, onPayload, connectTimeoutMs),
    notify: async (channel, payload) => {
      await sql`select pg_notify(${channel}, current_schema() || ':' || ${payload})`.execute(db);
    },
    currentSchema: async () => (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s ?? schema,
  };
}

/** The database lacks migrations and this process was told not to apply them. */
export class MigrationsPendingError extends AppError {
  constructor(readonly pending: string[]) {
    super(
      503,
      'MIGRATIONS_PENDING',
      `the database lacks ${pending.length} migration(s) (${pending.join(', ')}): run \`pnpm migrate\` first`,
    );
  }
}

/** How long a dropped LISTEN connection waits before it connects again (doubling up to 10 s). */
const LISTEN_RETRY_MS = 250;

/** LISTEN on a client of its own, connected again (with back-off) whenever it drops. */
async function listen(
  url: string,
  channel: string,
  onPayload: (payload: string | null) => void,
  connectTimeoutMs: number,
): Promise<{ close(): Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let client: pg.Client | null = null;
  let closed = false;
  let retry = LISTEN_RETRY_MS;
  let timer: NodeJS.Timeout | null = null;
  const connect = async (first: boolean): Promise<void> => {
    // keep-alive: a LISTEN connection only reads, so a silently dead peer is noticed by TCP alone
    const c = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    c.on('notification', (n) => {
      if (n.channel === channel) onPayload(n.payload ?? '');
    });
    const again = () => {
      if (closed || client !== c) return;
      client = null;
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      void c.end().catch(() => undefined);
      timer = setTimeout(() => void connect(false).catch(() => undefined), retry);
      retry = Math.min(retry * 2, 10_000);
    };
    c.on('error', again);
    c.on('end', again);
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      retry = LISTEN_RETRY_MS;
      // whatever was notified while no connection listened is lost: the listener looks for itself
      if (!first) onPayload(null);
    } catch (err) {
      if (first) {
        client = null;
        c.removeAllListeners();
        await c.end().catch(() => undefined);
        throw err;
      }
      again();
    }
  };
  await connect(true);
  return {
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      if (c !== null) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}

/** Drops a test schema and everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  await admin.end();
}
