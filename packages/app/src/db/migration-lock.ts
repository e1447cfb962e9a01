import pg from 'pg';

/**
 * The PostgreSQL advisory lock instances take around migrating a schema, so two starting together
 * (or `pnpm migrate` during a rolling start) never migrate it concurrently: the second waits, then
 * finds nothing left to apply. Its key: `hashtext` of this text.
 */
export const migrationLockName = (schema: string): string => `signalbox.migrations:${schema}`;

/** Runs `fn` holding the migration lock of `schema` (a session lock on a connection of its own). */
export async function withMigrationLock<T>(url: string, schema: string, fn: () => Promise<T>, connectTimeoutMs = 5_000): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  // a lost connection fails the statement waiting on it; an 'error' with no listener would end the process
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [migrationLockName(schema)]);
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [migrationLockName(schema)]);
    }
  } finally {
    await client.end();
  }
}
