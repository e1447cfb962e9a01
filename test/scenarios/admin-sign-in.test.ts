/** Guessing console keys: failed sign-ins from one address are refused 429 for a while, as problem+json. */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@signalbox/app';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, KEYS, startHarness } from '../support/harness.js';
import { until } from '../support/instances.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ at: '2026-11-23T09:00:00Z' });
});
afterAll(async () => h?.close());

const signIn = (key: unknown) => request(h.url).post('/admin/session').send({ key });
/** The `i`-th wrong key tried at an instance's console. */
const guessOn = (url: string, i: number) =>
  request(url)
    .post('/admin/session')
    .send({ key: `guess-${i}-0123456789abcdefghij` });

describe('POST /admin/session under abuse', () => {
  it('after 10 wrong keys from one address, even the right key is refused 429 with Retry-After, on the API too', async () => {
    for (let i = 0; i < 10; i++) await signIn(`wrong-${i}-0123456789abcdefghij`).expect(401);
    const refused = await signIn(KEYS.admin).expect(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'SIGN_IN_RATE_LIMITED' });
    expect(refused.body.detail).toMatch(/too many failed sign-ins from this address: try again in \d+ s/);
    const retry = Number(refused.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(300);
    expect(refused.headers['set-cookie']).toBeUndefined();
    // malformed bodies are refused the same way while the address is held back (no parsing, no key check)
    await signIn(42).expect(429);
    // the API's keys from this address wait as well: a key guessed there would be as good
    const api = await h.api('agent').get('/api/v1/rules').expect(429);
    expect(api.body.code).toBe('AUTH_RATE_LIMITED');
    expect(Number(api.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('an integration key (which cannot sign in) does not clear the count of wrong keys before it', async () => {
    const fresh = await startHarness({ at: '2026-11-23T09:00:00Z' });
    try {
      const guess = (i: number) => guessOn(fresh.url, i);
      for (let i = 0; i < 9; i++) await guess(i).expect(401);
      await request(fresh.url).post('/admin/session').send({ key: KEYS.integration }).expect(403);
      await guess(9).expect(401);
      expect((await guess(10).expect(429)).body.code).toBe('SIGN_IN_RATE_LIMITED');
    } finally {
      await fresh.close();
    }
  });

  it('refused sign-ins are audited: by a fingerprint of their source (never the address or the key), the one that made it wait marked', async () => {
    const fresh = await startHarness({ at: '2026-11-23T09:00:00Z' });
    try {
      const guess = (i: number) => guessOn(fresh.url, i);
      // a key of a role that cannot sign in, tried again and again: audited once
      for (let i = 0; i < 5; i++) await request(fresh.url).post('/admin/session').send({ key: KEYS.integration }).expect(403);
      // the same wrong key again and again is one guess: audited once (no one fills the log this way)
      for (let i = 0; i < 20; i++) await guess(0).expect(401);
      for (let i = 1; i < 10; i++) await guess(i).expect(401);
      // (read from the database: this address's keys wait now, the admin's too)
      const refusals = () =>
        fresh.db
          .selectFrom('audit_log')
          .select(['actor', 'subject', 'detail'])
          .where('action', '=', 'session.refused')
          .orderBy('id')
          .execute();
      const rows = await refusals();
      const entries = rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
      expect(entries).toHaveLength(11);
      expect(entries[0]).toMatchObject({ actor: 'integration:crm', subject: 'crm', detail: { via: 'console', code: 'ROLE_FORBIDDEN' } });
      const wrong = entries.slice(1);
      for (const e of wrong) expect(e).toMatchObject({ actor: 'unknown', subject: '', detail: { via: 'console', code: 'AUTH_INVALID' } });
      // one source, one fingerprint; only the tenth wrong key made it wait
      const sources = new Set(wrong.map((e) => e.detail.source));
      expect(sources.size).toBe(1);
      expect([...sources][0]).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(wrong.map((e) => e.detail.waits === true)).toEqual([...Array(9).fill(false), true]);
      const text = JSON.stringify(rows);
      expect(text).not.toContain('guess-');
      expect(text).not.toMatch(/127\.0\.0\.1|::1|::ffff/);
      // the held-back source's next try is answered 429 and not logged again (no flood through the log)
      await guess(10).expect(429);
      expect(await refusals()).toHaveLength(11);
    } finally {
      await fresh.close();
    }
  });

  it('a malformed sign-in is a 400 with the path, and does not count as a wrong key', async () => {
    const fresh = await startHarness({ at: '2026-11-23T09:00:00Z' });
    try {
      for (let i = 0; i < 12; i++) {
        const r = await request(fresh.url).post('/admin/session').send({ key: 7 }).expect(400);
        expect(r.body.errors[0].path).toBe('/key');
      }
      await request(fresh.url).post('/admin/session').send({ key: KEYS.admin }).expect(200);
    } finally {
      await fresh.close();
    }
  });
});

describe('signing out', () => {
  it('ends the session itself: the cookie kept from before is refused everywhere afterwards', async () => {
    const fresh = await startHarness({ at: '2026-11-23T09:00:00Z' });
    try {
      const r = await request(fresh.url).post('/admin/session').send({ key: KEYS.agent }).expect(200);
      const cookie = (r.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] as string;
      await request(fresh.url).get('/admin/session').set('cookie', cookie).expect(200);
      await request(fresh.url).get('/api/v1/contacts').set('cookie', cookie).expect(200);
      await request(fresh.url).delete('/admin/session').set('cookie', cookie).set('x-csrf-token', r.body.csrf).expect(204);
      await request(fresh.url).get('/admin/session').set('cookie', cookie).expect(401);
      const api = await request(fresh.url).get('/api/v1/contacts').set('cookie', cookie).expect(401);
      expect(api.body.code).toBe('SESSION_INVALID');
      // both ends of the session are in the audit log
      const audit = await fresh.db
        .selectFrom('audit_log')
        .select(['actor', 'action'])
        .where('action', 'like', 'session.%')
        .orderBy('at')
        .execute();
      expect(audit).toEqual([
        { actor: 'agent:desk', action: 'session.start' },
        { actor: 'agent:desk', action: 'session.end' },
      ]);
    } finally {
      await fresh.close();
    }
  });
});

describe('a signed-out session, without Redis', () => {
  const signInOut = async (url: string) => {
    const r = await request(url).post('/admin/session').send({ key: KEYS.admin }).expect(200);
    const cookie = (r.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] as string;
    await request(url).get('/api/v1/audit').set('cookie', cookie).expect(200);
    await request(url).delete('/admin/session').set('cookie', cookie).set('x-csrf-token', r.body.csrf).expect(204);
    return cookie;
  };

  it('stays signed out after a restart (it was remembered in memory only)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signalbox-signout-')), 'signalbox.db');
    const first = await startHarness({ at: '2026-11-23T09:00:00Z', sqliteFile: file });
    const cookie = await signInOut(first.url);
    await first.close();
    const restarted = await startHarness({ at: '2026-11-23T09:00:00Z', sqliteFile: file });
    try {
      expect((await request(restarted.url).get('/api/v1/audit').set('cookie', cookie).expect(401)).body.code).toBe('SESSION_INVALID');
      // a session that was not signed out still works after the restart
      const r = await request(restarted.url).post('/admin/session').send({ key: KEYS.agent }).expect(200);
      const other = (r.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] as string;
      await request(restarted.url).get('/api/v1/contacts').set('cookie', other).expect(200);
    } finally {
      await restarted.close();
    }
  });

  it('is signed out on every instance sharing the PostgreSQL database', async () => {
    const schema = `signout_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    const a = await startHarness({ at: '2026-11-23T09:00:00Z', postgresSchema: schema });
    const b = await startHarness({ at: '2026-11-23T09:00:00Z', postgresSchema: schema });
    try {
      const cookie = await signInOut(a.url);
      expect((await request(b.url).get('/api/v1/audit').set('cookie', cookie).expect(401)).body.code).toBe('SESSION_INVALID');
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('behind a load balancer (TRUST_PROXY)', () => {
  it('instances sharing the PostgreSQL database count wrong keys together: ten spread over two make the address wait on both', async () => {
    const schema = `guesses_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    const a = await startHarness({ at: '2026-11-23T09:00:00Z', postgresSchema: schema, trustProxy: 'loopback' });
    const b = await startHarness({ at: '2026-11-23T09:00:00Z', postgresSchema: schema, trustProxy: 'loopback' });
    // an instance on another schema of the same database is another deployment: it hears none of it
    const other = await startHarness({
      at: '2026-11-23T09:00:00Z',
      postgresSchema: `${schema}_other`,
      trustProxy: 'loopback',
    });
    try {
      const as = (client: string, key: string) => ({ 'x-forwarded-for': client, authorization: `Bearer ${key}` });
      const contacts = (url: string, client: string, key: string) => request(url).get('/api/v1/contacts').set(as(client, key));
      // five different wrong keys on each: neither instance alone has seen ten
      for (let i = 0; i < 10; i++)
        expect((await contacts(i % 2 === 0 ? a.url : b.url, '203.0.113.7', `wrong-key-${i}-0123456789abcdef`).expect(401)).body.code).toBe(
          'AUTH_INVALID',
        );
      // each hears the other's within moments: the good key now waits on both
      for (const h of [a, b])
        await until(
          'the other instance to have counted its guesses',
          async () => (await contacts(h.url, '203.0.113.7', KEYS.admin)).status === 429,
          5_000,
          50,
        );
      const refused = await contacts(b.url, '203.0.113.7', KEYS.admin).expect(429);
      expect(refused.body.code).toBe('AUTH_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(200);
      // another client is served by both; the other deployment serves even the guesser
      await contacts(a.url, '198.51.100.20', KEYS.admin).expect(200);
      await contacts(b.url, '198.51.100.20', KEYS.admin).expect(200);
      await contacts(other.url, '203.0.113.7', KEYS.admin).expect(200);
    } finally {
      await other.close();
      await b.close();
      await a.close();
    }
  });

  it('failed sign-ins count per client as the balancer names it, so one guesser does not lock out the others', async () => {
    const behind = await startHarness({ at: '2026-11-23T09:00:00Z', trustProxy: 'loopback' });
    try {
      const from = (client: string, key: string) => request(behind.url).post('/admin/session').set('x-forwarded-for', client).send({ key });
      for (let i = 0; i < 10; i++) await from('203.0.113.7', `wrong-key-${i}-0123456789abcdef`).expect(401);
      expect((await from('203.0.113.7', KEYS.admin).expect(429)).body.code).toBe('SIGN_IN_RATE_LIMITED');
      // another client behind the same balancer signs in
      await from('198.51.100.20', KEYS.admin).expect(200);
    } finally {
      await behind.close();
    }
  });

  it('API keys guessed wrong count per client too: after 10, every key from that client waits (API, events, console alike)', async () => {
    const behind = await startHarness({ at: '2026-11-23T09:00:00Z', trustProxy: 'loopback' });
    try {
      const as = (client: string, key: string) => ({ 'x-forwarded-for': client, authorization: `Bearer ${key}` });
      const event = (id: string) => ({
        id,
        type: 'invoice.overdue',
        occurredAt: '2026-11-23T09:00:00Z',
        contact: { identities: [{ kind: 'phone', value: '+254711000001' }] },
      });
      // a good key before the guesses goes through the fast path as ever (no ETag: Express adds one)
      const before = await request(behind.url)
        .post('/api/v1/events')
        .set(as('198.51.100.20', KEYS.integration))
        .send(event('g-0'))
        .expect(202);
      expect(before.headers.etag).toBeUndefined();
      for (let i = 0; i < 10; i++) {
        const r = await request(behind.url)
          .get('/api/v1/contacts')
          .set(as('203.0.113.7', `wrong-key-${i}-0123456789abcdef`))
          .expect(401);
        expect(r.body.code).toBe('AUTH_INVALID');
      }
      // the eleventh try, even with a good key, waits: it could be the lucky guess
      const refused = await request(behind.url).get('/api/v1/contacts').set(as('203.0.113.7', KEYS.admin)).expect(429);
      expect(refused.body.code).toBe('AUTH_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(200);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      const events = await request(behind.url)
        .post('/api/v1/events')
        .set(as('203.0.113.7', KEYS.integration))
        .send(event('g-1'))
        .expect(429);
      expect(events.body.code).toBe('AUTH_RATE_LIMITED');
      expect((await request(behind.url).get('/metrics').set(as('203.0.113.7', KEYS.metrics)).expect(429)).body.code).toBe(
        'AUTH_RATE_LIMITED',
      );
      // the console's sign-in counts the same guesses
      const signIn = await request(behind.url)
        .post('/admin/session')
        .set('x-forwarded-for', '203.0.113.7')
        .send({ key: KEYS.admin })
        .expect(429);
      expect(signIn.body.code).toBe('SIGN_IN_RATE_LIMITED');
      // another client behind the same balancer is served, its events accepted on the fast path still
      await request(behind.url).get('/api/v1/contacts').set(as('198.51.100.20', KEYS.admin)).expect(200);
      const other = await request(behind.url)
        .post('/api/v1/events')
        .set(as('198.51.100.20', KEYS.integration))
        .send(event('g-2'))
        .expect(202);
      expect(other.headers.etag).toBeUndefined();
      // one stale key sent again and again is not guessing: 401 each time, and the right key still works
      for (let i = 0; i < 15; i++)
        expect(
          (await request(behind.url).get('/api/v1/rules').set(as('192.0.2.9', 'stale-key-0123456789abcdefghij')).expect(401)).body.code,
        ).toBe('AUTH_INVALID');
      await request(behind.url).get('/api/v1/contacts').set(as('192.0.2.9', KEYS.admin)).expect(200);
      // no key at all is not a guess: it is answered 401 and counts for nothing
      for (let i = 0; i < 12; i++)
        expect((await request(behind.url).get('/api/v1/contacts').set('x-forwarded-for', '192.0.2.1').expect(401)).body.code).toBe(
          'AUTH_REQUIRED',
        );
      await request(behind.url).get('/api/v1/contacts').set(as('192.0.2.1', KEYS.admin)).expect(200);
      const stored = await behind.db.selectFrom('inbox').select('event_id').orderBy('event_id').execute();
      expect(stored.map((r) => r.event_id)).toEqual(['g-0', 'g-2']);
    } finally {
      await behind.close();
    }
  });

  it('is a hop count, loopback, or addresses and subnets; anything else stops start-up', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 172.16.0.0/12' }).TRUST_PROXY).toBe('10.0.0.0/8, 172.16.0.0/12');
    expect(loadConfig({}).TRUST_PROXY).toBeUndefined();
    expect(() => loadConfig({ TRUST_PROXY: 'everyone; drop' })).toThrow(/TRUST_PROXY/);
  });
});
