/**
 * Migrations run once per deploy: two `pnpm migrate` processes started together on the same fresh
 * PostgreSQL database both succeed and the migrations are applied once (the second waits for the
 * migration lock, then finds nothing to do); an instance told not to migrate refuses a database
 * that lacks migrations.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { migrationLockName } from '@signalbox/app';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, startInstance, until } from '../support/instances.js';

const MIGRATE = fileURLToPath(new URL('../../packages/app/src/cli/migrate.ts', import.meta.url));

function migrate(
  url: string,
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MIGRATE], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return { child, done: new Promise((r) => child.once('exit', (code) => r({ code, out, err }))) };
}

describe('migrations once per deploy (PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('`pnpm migrate` against a database that accepts and never answers gives up within PG_CONNECT_TIMEOUT_MS', async () => {
    const held = new Set<Socket>();
    const silent = createServer((sock) => {
      held.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = await migrate(`postgres://postgres@127.0.0.1:${(silent.address() as { port: number }).port}/test`, {
        PG_CONNECT_TIMEOUT_MS: '300',
      }).done;
      expect(r.code).not.toBe(0);
      // 300 ms and the process's start, not the 5-s default
      expect(Date.now() - started).toBeLessThan(4_500);
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 60_000);

  it('an instance with MIGRATE_ON_START=off refuses a database that lacks migrations, naming `pnpm migrate`', async () => {
    const started = startInstance({ id: 'verify-only', databaseUrl: db.url, env: { MIGRATE_ON_START: 'off', WORKER: 'off' } });
    await expect(started).rejects.toThrow(/lacks \d+ migration\(s\) \(0001_initial, .*run `pnpm migrate` first/);
    // and it created nothing
    expect(await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).toEqual([]);
  });

  it('two processes migrating the same fresh database at once: both succeed, each migration applied once', async () => {
    // the test holds the lock first, so both processes are surely waiting for it at the same time
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [migrationLockName('public')]);
    const runs = [migrate(db.url), migrate(db.url)];
    try {
      await until(
        'both processes waiting for the migration lock',
        async () => {
          const [row] = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          );
          return row?.n === 2;
        },
        60_000,
        100,
      );
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [migrationLockName('public')]);
      await holder.end();
    }
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const outs = results.map((r) => r.out.trim()).sort();
    expect(outs[0]).toMatch(/^PostgreSQL: applied (\d+) migration\(s\): 0001_initial, /);
    expect(outs[1]).toBe('PostgreSQL: up to date');
    const applied = Number(/applied (\d+)/.exec(outs[0] ?? '')?.[1]);
    const rows = await db.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
    expect(rows).toHaveLength(applied);
    expect(new Set(rows.map((r) => r.name)).size).toBe(applied);
    // a third run later finds nothing to do, and an instance that only verifies now starts
    expect((await migrate(db.url).done).out.trim()).toBe('PostgreSQL: up to date');
    const instance = await startInstance({ id: 'after-migrate', databaseUrl: db.url, env: { MIGRATE_ON_START: 'off', WORKER: 'off' } });
    expect((await fetch(`${instance.url}/readyz`)).status).toBe(200);
    instance.child.kill('SIGTERM');
    await instance.exited;
  });
});
