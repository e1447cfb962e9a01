import type { DatabaseLocation, OpenDatabase } from './connection.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';

/** Another connection to a database (a thread's own): SQLite leaves checkpoints to the process's checkpointer. */
export function openLocation(l: DatabaseLocation, o: { max?: number } = {}): Promise<OpenDatabase> {
  return l.kind === 'sqlite'
    ? openSqlite(l.file, { checkpoints: 'elsewhere' })
    : openPostgres(l.url, {
        ...(l.schema !== undefined ? { schema: l.schema } : {}),
        max: o.max ?? 2,
        migrations: 'verify',
        ...(l.namedStatements === false ? { namedStatements: false } : {}),
        ...(l.upkeep !== undefined ? { upkeep: l.upkeep } : {}),
        ...(l.connectTimeoutMs !== undefined ? { connectTimeoutMs: l.connectTimeoutMs } : {}),
        ...(l.queryTimeoutMs !== undefined ? { queryTimeoutMs: l.queryTimeoutMs } : {}),
      });
}
