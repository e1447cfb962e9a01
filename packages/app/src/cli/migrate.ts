/**
 * `pnpm migrate` (compiled: `node dist/cli/migrate.js`): applies the migrations the database lacks
 * and exits, once per deploy before the instances start (they may then run with
 * MIGRATE_ON_START=off). On PostgreSQL it holds the migration lock while it works, so it is safe
 * beside instances starting at the same time. Exit codes: 0 done, 1 failed.
 */
import { resolve } from 'node:path';
import { ConfigError, invocationDir, loadConfig } from '../config.js';
import { openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';

async function migrate(): Promise<string> {
  const config = loadConfig();
  let applied: string[] = [];
  const db =
    config.DATABASE_URL !== undefined
      ? await openPostgres(config.DATABASE_URL, {
          max: 1,
          namedStatements: config.PG_NAMED_STATEMENTS === 'on',
          connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
          applied: (names) => (applied = names),
        })
      : await openSqlite(resolve(invocationDir(config), config.DATA_DIR, 'signalbox.db'), { applied: (names) => (applied = names) });
  await db.close();
  const where = config.DATABASE_URL !== undefined ? 'PostgreSQL' : 'SQLite';
  return applied.length === 0 ? `${where}: up to date` : `${where}: applied ${applied.length} migration(s): ${applied.join(', ')}`;
}

migrate().then(
  (line) => process.stdout.write(`${line}\n`),
  (e: unknown) => {
    process.stderr.write(`signalbox migrate: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    process.exitCode = 1;
  },
);
