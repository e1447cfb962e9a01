import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Config, invocationDir } from '../config.js';
import { openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import { Store } from '../store/store.js';
import { CliError } from './cli-error.js';

/** The embedded profile's database file, as `pnpm start` opens it. */
export const sqliteFileOf = (config: Config): string => resolve(invocationDir(config), config.DATA_DIR, 'signalbox.db');

/**
 * The app's database as configured (DATABASE_URL, or the SQLite file in DATA_DIR). A command that
 * reads it does not create an empty one: it says how to get one instead.
 */
export async function openConfiguredStore(config: Config, o: { create: boolean }): Promise<Store> {
  if (config.DATABASE_URL !== undefined)
    return new Store(
      await openPostgres(config.DATABASE_URL, {
        namedStatements: config.PG_NAMED_STATEMENTS === 'on',
        connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
        queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
      }),
    );
  const file = sqliteFileOf(config);
  if (!o.create && !existsSync(file))
    throw new CliError(`no database at ${file}: start the app (pnpm start) or load the demo (pnpm demo) first`, 2, false);
  return new Store(await openSqlite(file));
}
