/**
 * The production profile and its database on a bad day, with real processes on real PostgreSQL:
 * every session terminated under an instance (a restart, a failover, an administrator), a database
 * that does not answer at start, and a start without the secrets every instance must share.
 */
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshDatabase, type Instance, post, startInstance, until } from '../support/instances.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function terminateSessionsOf(database: string): Promise<number> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const r = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [
      database,
    ]);
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

const event = (id: string, phone: string) => ({
  id,
  type: 'contact.updated',
  occurredAt: new Date().toISOString(),
  contact: { identities: [{ kind: 'phone', value: phone }] },
});

describe('PostgreSQL away', () => {
  it('every session terminated: the instance stays up and answers again on new connections', async () => {
    const db = await freshDatabase();
    let inst: Instance | null = null;
    try {
      inst = await startInstance({ id: 'outage', databaseUrl: db.url });
      const i = inst;
      expect((await post(`${i.url}/api/v1/events`, [event('before-1', '+254711300001')])).status).toBe(202);
      const name = new URL(db.url).pathname.slice(1);
      // idle and busy connections alike, the HTTP thread's and the worker's
      expect(await terminateSessionsOf(name)).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 500));
      expect(i.child.exitCode).toBeNull();
      await until('ready again', async () => (await fetch(`${i.url}/readyz`)).status === 200, 20_000);
      expect((await post(`${i.url}/api/v1/events`, [event('after-1', '+254711300002')])).status).toBe(202);
      // accepted on both sides of the outage, and applied
      await until('both applied', async () => {
        const rows = await db.query<{ n: string }>('select count(*) n from inbox where processed_at is not null');
        return Number(rows[0]?.n) === 2;
      });
      // a second time, under way: still up
      await terminateSessionsOf(name);
      await new Promise((r) => setTimeout(r, 500));
      expect(i.child.exitCode).toBeNull();
      expect(i.stderr()).not.toMatch(/Unhandled 'error' event/);
    } finally {
      if (inst !== null) {
        inst.child.kill('SIGTERM');
        await inst.exited;
      }
      await db.drop();
    }
  }, 90_000);

  it('a database that accepts and never answers stops the start within PG_CONNECT_TIMEOUT_MS, naming DATABASE_URL and never its password', async () => {
    const held = new Set<Socket>();
    const silent = createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const err = await startInstance({
        id: 'silent-db',
        databaseUrl: `postgres://signalbox:s3cret-pass@127.0.0.1:${port}/signalbox`,
        env: { PG_CONNECT_TIMEOUT_MS: '500' },
      }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(err.message).toContain(`PostgreSQL at DATABASE_URL (127.0.0.1:${port}/signalbox) could not be opened`);
      expect(err.message).not.toContain('s3cret-pass');
      expect(err.message).not.toMatch(/\n\s+at /); // a reason, not a stack trace
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 60_000);

  it('a database that does not exist, or a role that may not log in, is said the same way: where it looked and why, in one line', async () => {
    for (const [url, why] of [
      ['postgres://postgres@127.0.0.1:5432/signalbox_no_such_db', /database "signalbox_no_such_db" does not exist/],
      ['postgres://no_such_role:s3cret-pass@127.0.0.1:5432/test', /role "no_such_role" does not exist|authentication failed/],
    ] as const) {
      const err = await startInstance({ id: 'no-db', databaseUrl: url }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      const stderr = err.message.slice(err.message.indexOf('\n') + 1);
      expect(stderr).toMatch(
        new RegExp(`^signalbox: PostgreSQL at DATABASE_URL \\(127\\.0\\.0\\.1:5432/${url.split('/').pop()}\\) could not be opened: `),
      );
      expect(stderr).toMatch(why);
      expect(stderr).not.toContain('s3cret-pass');
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('without the secrets every instance must share, the start is refused naming each one (none is made up per instance)', async () => {
    const db = await freshDatabase();
    try {
      const err = await startInstance({
        id: 'no-secrets',
        databaseUrl: db.url,
        env: { SIGNALBOX_API_KEYS: undefined, SANDBOX_SECRET: undefined, SESSION_SECRET: undefined } as unknown as Record<string, string>,
      }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      for (const v of ['SIGNALBOX_API_KEYS', 'SESSION_SECRET', 'SANDBOX_SECRET'])
        expect(err.message).toContain(`${v}: required with DATABASE_URL`);
      // a CRM on: its token key too (a token sealed by one instance must open on every other)
      const hub = await startInstance({
        id: 'no-token-key',
        databaseUrl: db.url,
        env: { HUBSPOT_CLIENT_ID: 'client-id', HUBSPOT_CLIENT_SECRET: 'client-secret-0123456789' },
      }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      expect(hub.message).toContain('HUBSPOT_TOKEN_KEY: required with DATABASE_URL');
      // Salesforce signs nothing: its Outbound Messages' secret path segment is required as well
      const sf = await startInstance({
        id: 'no-outbound-secret',
        databaseUrl: db.url,
        env: {
          SALESFORCE_CLIENT_ID: 'client-id',
          SALESFORCE_CLIENT_SECRET: 'client-secret-0123456789',
          SALESFORCE_TOKEN_KEY: Buffer.alloc(32, 7).toString('base64'),
        },
      }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      expect(sf.message).toContain('SALESFORCE_OUTBOUND_SECRET: required with DATABASE_URL');
    } finally {
      await db.drop();
    }
  }, 60_000);
});
