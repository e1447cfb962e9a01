import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { createLogger } from '../logger.js';
import { TEST_DATABASE_URL } from '../store/testing.js';
import { KeyGuesses } from './key-guesses.js';
import { KEY_GUESSES_CHANNEL, KeyGuessesShared } from './key-guesses-shared.js';

const schema = `guesses_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
const secret = randomBytes(32);
const opened: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const o of opened) await o.close();
  await dropPostgresSchema(TEST_DATABASE_URL, schema);
});

async function instance(name: string, key = secret) {
  const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 2 });
  const shared = new KeyGuessesShared({
    listen: db.listen as NonNullable<typeof db.listen>,
    notify: db.notify as NonNullable<typeof db.notify>,
    instance: name,
    secret: key,
    log: createLogger('silent'),
    now: () => Date.now(),
  });
  const guesses = new KeyGuesses({ max: 3, windowMs: 60_000, maxClients: 100, secret: key, share: (f) => shared.tell(f) });
  await shared.start(guesses, schema);
  opened.push({ close: () => shared.stop() }, db);
  return guesses;
}

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(ok(), what).toBe(true);
};

describe('wrong keys told between instances (PostgreSQL NOTIFY)', () => {
  it('what one counts the other counts; a notification not signed with the shared secret is not', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const stranger = await instance('stranger', randomBytes(32));
    const t = Date.now();
    a.failed('203.0.113.7', 'k1', t);
    a.failed('203.0.113.7', 'k2', t);
    b.failed('203.0.113.7', 'k3', t);
    await until('both to wait', () => a.retryAfter('203.0.113.7', Date.now()) > 0 && b.retryAfter('203.0.113.7', Date.now()) > 0);
    // made-up failures (a role that may NOTIFY, without the secret) count for nothing
    for (const k of ['k4', 'k5', 'k6']) stranger.failed('198.51.100.1', k, t);
    const raw = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await raw.connect();
    const forged = JSON.stringify({ i: 'x', g: 'AAAAAAAAAAAAAAAA', k: 'BBBBBBBBBBBBBBBB', at: t, m: 'not-a-mac' });
    await raw.query('select pg_notify($1, $2)', [KEY_GUESSES_CHANNEL, `${schema}:${forged}`]);
    await raw.end();
    await new Promise((r) => setTimeout(r, 200));
    expect(stranger.retryAfter('198.51.100.1', Date.now())).toBeGreaterThan(0);
    expect(a.retryAfter('198.51.100.1', Date.now())).toBe(0);
    expect(b.retryAfter('198.51.100.1', Date.now())).toBe(0);
  });

  it('hears by the schema the database names (set by the configuration, the role or the URL)', async () => {
    const own = `${schema}_own`;
    const start = async (name: string) => {
      const db = await openPostgres(TEST_DATABASE_URL, { schema: own, max: 2 });
      opened.push(db);
      const names = await (db.currentSchema as NonNullable<typeof db.currentSchema>)();
      expect(names).toBe(own);
      // the name the database gives, at start (a deployment may have configured none)
      const shared = new KeyGuessesShared({
        listen: db.listen as NonNullable<typeof db.listen>,
        notify: db.notify as NonNullable<typeof db.notify>,
        instance: name,
        secret,
        log: createLogger('silent'),
        now: () => Date.now(),
      });
      const guesses = new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, secret, share: (f) => shared.tell(f) });
      await shared.start(guesses, names);
      opened.push({ close: () => shared.stop() });
      return guesses;
    };
    try {
      const a = await start('own-a');
      const b = await start('own-b');
      a.failed('192.0.2.50', 'k1', Date.now());
      b.failed('192.0.2.50', 'k2', Date.now());
      await until('both to wait', () => a.retryAfter('192.0.2.50', Date.now()) > 0 && b.retryAfter('192.0.2.50', Date.now()) > 0);
    } finally {
      await dropPostgresSchema(TEST_DATABASE_URL, own);
    }
  });
});
