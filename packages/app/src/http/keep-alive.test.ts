import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { Store } from '../store/store.js';
import { createSystem, type System } from '../system.js';

let running: System | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

async function serve(keepAliveMs: number, requestTimeoutMs?: number, shutdownDelayMs?: number) {
  const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-keepalive-')), 'signalbox.db')));
  running = createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: systemClock,
    log: createLogger('silent'),
    apiKeys: [],
    sandboxSecret: 'keepalive-test-sandbox-secret-0123456789',
    keepAliveMs,
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
    ...(shutdownDelayMs !== undefined ? { shutdownDelayMs } : {}),
  });
  return (await running.listen(0)).url;
}

/** One connection, as a load balancer holds it: requests sent on it one after another. */
async function connection(url: string) {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let buffer = '';
  socket.on('data', (d: Buffer) => {
    buffer += d.toString();
  });
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
  return {
    closed,
    /** GET /healthz; its status line. */
    async healthz(): Promise<string> {
      buffer = '';
      socket.write('GET /healthz HTTP/1.1\r\nHost: signalbox\r\n\r\n');
      for (let i = 0; i < 200 && !/\r\n\r\n[\s\S]*\}/.test(buffer); i++) await new Promise((r) => setTimeout(r, 10));
      return buffer.split('\r\n')[0] ?? '';
    },
    /** The last answer's headers. */
    headers: () => buffer.split('\r\n\r\n')[0] ?? '',
    destroy: () => socket.destroy(),
  };
}

describe('idle keep-alive connections (HTTP_KEEP_ALIVE_MS)', () => {
  it('defaults past a load balancer’s idle timeout (AWS ALB: 60 s), not Node’s 5 s', () => {
    expect(loadConfig({}).HTTP_KEEP_ALIVE_MS).toBe(65_000);
    expect(() => loadConfig({ HTTP_KEEP_ALIVE_MS: '10' })).toThrow(/HTTP_KEEP_ALIVE_MS/);
  });

  it('the server keeps an idle connection open for as long as it is told, and closes it after', async () => {
    const url = await serve(1_500);
    const c = await connection(url);
    try {
      expect(await c.healthz()).toBe('HTTP/1.1 200 OK');
      await new Promise((r) => setTimeout(r, 700));
      // still open: the same connection answers again
      expect(await c.healthz()).toBe('HTTP/1.1 200 OK');
      const idleFrom = Date.now();
      // then closed by the server once idle that long (well before Node's own 5 s)
      const closedAt = await c.closed;
      expect(closedAt - idleFrom).toBeGreaterThan(1_000);
      expect(closedAt - idleFrom).toBeLessThan(4_000);
    } finally {
      c.destroy();
    }
  });

  it('once the instance drains, an answer on a kept-alive connection says Connection: close and the connection closes after it', async () => {
    const url = await serve(65_000, undefined, 1_000);
    const c = await connection(url);
    try {
      expect(await c.healthz()).toBe('HTTP/1.1 200 OK');
      expect(c.headers()).not.toMatch(/^connection: close$/im);
      const closing = running?.close();
      running = null;
      // draining (unready; alive), still answering: the answer closes its connection, long before keep-alive would
      const asked = Date.now();
      expect(await c.healthz()).toBe('HTTP/1.1 200 OK');
      expect(c.headers()).toMatch(/^connection: close$/im);
      expect((await c.closed) - asked).toBeLessThan(1_000);
      await closing;
    } finally {
      c.destroy();
    }
  });
});

/** A request whose body comes a byte at a time and never ends; the answer's status line, when the server ends it. */
function trickle(url: string): { ended: Promise<{ at: number; status: string }>; stop: () => void } {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  socket.write(
    'POST /hooks/providers/sandbox/receipts HTTP/1.1\r\nHost: signalbox\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
  );
  const drip = setInterval(() => socket.writable && socket.write(' '), 200);
  let buffer = '';
  socket.on('data', (d: Buffer) => {
    buffer += d.toString();
  });
  socket.on('error', () => undefined);
  const ended = new Promise<{ at: number; status: string }>((r) =>
    socket.once('close', () => {
      clearInterval(drip);
      r({ at: Date.now(), status: buffer.split('\r\n')[0] ?? '' });
    }),
  );
  return { ended, stop: () => socket.destroy() };
}

describe('requests that take too long to arrive (HTTP_REQUEST_TIMEOUT_MS)', () => {
  it('defaults to 30 s, not Node’s 300 s', () => {
    expect(loadConfig({}).HTTP_REQUEST_TIMEOUT_MS).toBe(30_000);
  });

  it('a body trickled a byte at a time is answered 408 and its connection closed once the time is up', async () => {
    const url = await serve(65_000, 1_500);
    const started = Date.now();
    const t = trickle(url);
    try {
      const { at, status } = await t.ended;
      expect(status).toBe('HTTP/1.1 408 Request Timeout');
      expect(at - started).toBeGreaterThan(1_000);
      expect(at - started).toBeLessThan(4_500);
    } finally {
      t.stop();
    }
  });

  it('a shutdown does not wait for a trickling client longer than that', async () => {
    const url = await serve(65_000, 1_500);
    const t = trickle(url);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await running?.close();
      running = null;
      expect(Date.now() - started).toBeLessThan(4_500);
      await t.ended;
    } finally {
      t.stop();
    }
  });
});
