/**
 * PostgreSQL going away, on a real server: a connection terminated while idle, a statement with no
 * answer, a server that accepts and never speaks. The process stays up, the failure is one the HTTP
 * layer answers 503, and the pool works again once the server does.
 */
import { createServer, type Server, type Socket, connect as tcp } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { problemOf } from '../http/problem.js';
import { createLogger } from '../logger.js';
import { TEST_DATABASE_URL } from '../store/testing.js';
import type { OpenDatabase } from './connection.js';
import { isConnectionLoss } from './connection-loss.js';
import { dropPostgresSchema, openPostgres } from './postgres.js';

const log = createLogger('silent');
const target = new URL(TEST_DATABASE_URL);

/** A TCP forwarder to PostgreSQL that can stop forwarding (a partition: nothing is closed, nothing arrives). */
async function stallableProxy(): Promise<{ url: string; stall(on: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let stalled = false;
  const server: Server = createServer((down) => {
    const up = tcp(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [down, up],
      [up, down],
    ] as const) {
      sockets.add(from);
      from.on('close', () => sockets.delete(from));
      from.on('error', () => from.destroy());
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk);
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = new URL(TEST_DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    stall: (on) => {
      stalled = on;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('PostgreSQL connection loss', () => {
  let open: OpenDatabase | null = null;
  let schema = '';
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await open?.close();
    open = null;
    for (const c of cleanup.splice(0)) await c();
    if (schema !== '') await dropPostgresSchema(TEST_DATABASE_URL, schema);
    schema = '';
  });
  const fresh = () => {
    schema = `t_loss_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    return schema;
  };

  it('a connection terminated while idle in the pool is dropped and reported, not a crash; the next statement opens another', async () => {
    const lost: Error[] = [];
    open = await openPostgres(TEST_DATABASE_URL, { schema: fresh(), max: 1, onConnectionError: (e) => lost.push(e) });
    const before = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(open.db);
    const pid = before.rows[0]?.pid;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await expect.poll(() => lost.length).toBe(1);
    expect(isConnectionLoss(lost[0])).toBe(true);
    const after = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(open.db);
    expect(after.rows[0]?.pid).not.toBe(pid);
  });

  it('a statement with no answer fails at its deadline as a connection loss (503), and the pool recovers when the server answers again', async () => {
    const proxy = await stallableProxy();
    cleanup.push(proxy.close);
    open = await openPostgres(proxy.url, { schema: fresh(), max: 2, queryTimeoutMs: 400, onConnectionError: () => undefined });
    await sql`select 1`.execute(open.db);
    proxy.stall(true);
    const started = Date.now();
    const err = await sql`select 1`.execute(open.db).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isConnectionLoss(err)).toBe(true);
    expect(problemOf(err, log, { method: 'GET', path: '/x' })).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    proxy.stall(false);
    const r = await sql<{ one: number }>`select 1 as one`.execute(open.db);
    expect(r.rows[0]?.one).toBe(1);
  });

  it('a long statement within its deadline is answered; without a deadline (0) nothing is cut', async () => {
    open = await openPostgres(TEST_DATABASE_URL, { schema: fresh(), max: 1, queryTimeoutMs: 0 });
    await sql`select pg_sleep(0.3)`.execute(open.db);
    await open.close();
    await dropPostgresSchema(TEST_DATABASE_URL, schema);
    const heard: Error[] = [];
    open = await openPostgres(TEST_DATABASE_URL, { schema: fresh(), max: 1, queryTimeoutMs: 200, onConnectionError: (e) => heard.push(e) });
    const started = Date.now();
    await expect(sql`select pg_sleep(3)`.execute(open.db)).rejects.toThrow(/Connection terminated/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(heard.map((e) => e.message)).toContain('a statement had no answer from the database in 200 ms: its connection was ended');
    // the connection that waited is gone; another answers
    await sql`select 1`.execute(open.db);
  });

  it('a server that accepts and never speaks fails the start within the connect timeout', async () => {
    const held = new Set<Socket>();
    const silent = createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          for (const s of held) s.destroy();
          silent.close(() => r());
        }),
    );
    const url = `postgres://postgres@127.0.0.1:${(silent.address() as { port: number }).port}/test`;
    const started = Date.now();
    const err = await openPostgres(url, { connectTimeoutMs: 300 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isConnectionLoss(err), String(err)).toBe(true);
  });

  it('tells connection loss from a statement that is wrong', () => {
    expect(isConnectionLoss(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isConnectionLoss(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isConnectionLoss(null)).toBe(false);
  });
});
