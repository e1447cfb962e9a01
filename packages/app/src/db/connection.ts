import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** `PG_UPKEEP`: `auto` does autovacuum's work only where the server's autovacuum is off (table-upkeep.ts). */
export type UpkeepMode = 'auto' | 'on' | 'off';

/** An open database: the only place the raw Kysely handle lives (repositories get a `Conn`). */
export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
  /** How many other connections are waiting for SQLite's write lock (always 0 on PostgreSQL). */
  writersWaiting?: () => number;
  /** Where it is, so another thread can open its own connection to it (absent for `:memory:`). */
  location?: DatabaseLocation;
  /**
   * Hears notifications on a channel from every process on this database (PostgreSQL LISTEN, on a
   * connection of its own, reconnected when it drops; `onPayload` also hears `null` after a
   * reconnect, since what was sent meanwhile is lost). Absent on SQLite: one process owns the file.
   */
  listen?: (channel: string, onPayload: (payload: string | null) => void) => Promise<{ close(): Promise<void> }>;
  /** Tells every process listening on `channel` (PostgreSQL NOTIFY; the payload goes as `schema:payload`). */
  notify?: (channel: string, payload: string) => Promise<void>;
  /** The schema names of tables resolve in (PostgreSQL's `current_schema()`): what `notify` prefixes payloads with. */
  currentSchema?: () => Promise<string>;
}

/** Enough to open another connection to the same database (a thread of its own). */
export type DatabaseLocation =
  | { kind: 'sqlite'; file: string }
  | {
      kind: 'postgres';
      url: string;
      schema?: string;
      namedStatements?: boolean;
      upkeep?: UpkeepMode;
      connectTimeoutMs?: number;
      queryTimeoutMs?: number;
    };

/**
 * What a repository runs its statements on: the database, or one transaction on it (then every
 * repository built on the same `Conn` is part of that transaction).
 */
export interface Conn {
  readonly db: Kysely<Database> | Transaction<Database>;
  readonly dialect: Dialect;
}

/**
 * A value as the JSON text a column keeps. A NUL character in any string becomes U+FFFD: written
 * as `\u0000` it makes the whole text unreadable to PostgreSQL's json and jsonb ("\u0000 cannot be
 * converted to text"), so one contact attribute holding one broke every query that reads its record
 * as JSON. The common case costs one scan of the text.
 */
export const json = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s?.includes('\\u0000') ? JSON.stringify(v, withoutNul) : s;
};
const withoutNul = (_key: string, x: unknown): unknown =>
  typeof x === 'string' && x.includes('\u0000') ? x.replaceAll('\u0000', '\ufffd') : x;
export const parseJson = <T>(s: string): T => JSON.parse(s) as T;
