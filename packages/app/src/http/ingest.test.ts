import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import type { OpenDatabase } from '../db/connection.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { Store } from '../store/store.js';
import { type StoreFactory, storeFactories } from '../store/testing.js';
import { createSystem, type System } from '../system.js';
import { byteLimit } from './fast-path.js';

const KEYS = { admin: 'admin-key-0123456789abcdefghij', agent: 'agent-key-0123456789abcdefghij', crm: 'crm-key-0123456789abcdefghijkl' };

async function system(factory?: StoreFactory): Promise<{ system: System; store: Store; db: OpenDatabase; dispose?: () => Promise<void> }> {
  const opened = factory !== undefined ? await factory.open() : null;
  const db = opened?.db ?? (await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-ingest-')), 'signalbox.db')));
  const store = opened?.store ?? new Store(db);
  const s = createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: new TestClock(new Date('2026-11-23T07:00:00Z')),
    log: createLogger('silent'),
    apiKeys: [
      { name: 'ops', role: 'admin', secret: KEYS.admin },
      { name: 'desk', role: 'agent', secret: KEYS.agent },
      { name: 'crm', role: 'integration', secret: KEYS.crm },
    ],
    sandboxSecret: 'sandbox-secret-0123456789abcdef',
    bodyLimit: '2kb',
  });
  return { system: s, store, db, ...(opened !== null ? { dispose: opened.dispose } : {}) };
}

interface Case {
  name: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Sent without Content-Length (chunked). */
  chunked?: boolean;
  path?: string;
  /** Answered by the fast path (no ETag: Express's res.json adds one). */
  fast: boolean;
}

const json = { 'content-type': 'application/json' };
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const event = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'invoice.overdue',
  occurredAt: '2026-11-23T07:00:00Z',
  contact: { identities: [{ kind: 'phone', value: '+254700000001' }] },
  ...extra,
});

const CASES: Case[] = [
  { name: 'one event', headers: { ...json, ...bearer(KEYS.crm) }, body: JSON.stringify(event('e-1')), fast: true },
  { name: 'the same event again', headers: { ...json, ...bearer(KEYS.crm) }, body: JSON.stringify(event('e-1')), fast: true },
  {
    name: 'a batch with a duplicate inside',
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-api-key': KEYS.admin },
    body: JSON.stringify([event('e-2'), event('e-3'), event('e-2')]),
    fast: true,
  },
  { name: 'not JSON', headers: { ...json, ...bearer(KEYS.crm) }, body: '{"id":', fast: true },
  { name: 'null', headers: { ...json, ...bearer(KEYS.crm) }, body: 'null', fast: true },
  { name: 'a string', headers: { ...json, ...bearer(KEYS.crm) }, body: '"event"', fast: true },
  {
    name: 'invalid fields',
    headers: { ...json, ...bearer(KEYS.crm) },
    body: JSON.stringify([event('e-4'), event('e-5', { type: 'Nope', occurredAt: 'yesterday' })]),
    fast: true,
  },
  { name: 'an empty batch', headers: { ...json, ...bearer(KEYS.crm) }, body: '[]', fast: true },
  {
    name: 'a batch naming a contact id that is not stored',
    headers: { ...json, ...bearer(KEYS.crm) },
    body: JSON.stringify([event('e-12'), event('e-13', { contact: { id: 'no-such-contact' } })]),
    fast: true,
  },
  { name: 'no key', headers: json, body: JSON.stringify(event('e-6')), fast: false },
  { name: 'a wrong key', headers: { ...json, ...bearer('nope-0123456789abcdefghijkl') }, body: JSON.stringify(event('e-6')), fast: false },
  { name: 'an agent key', headers: { ...json, ...bearer(KEYS.agent) }, body: JSON.stringify(event('e-6')), fast: false },
  { name: 'text/plain', headers: { 'content-type': 'text/plain', ...bearer(KEYS.crm) }, body: JSON.stringify(event('e-7')), fast: false },
  {
    name: 'gzip',
    headers: { ...json, 'content-encoding': 'gzip', ...bearer(KEYS.crm) },
    body: gzipSync(JSON.stringify(event('e-8'))),
    fast: false,
  },
  { name: 'chunked', headers: { ...json, ...bearer(KEYS.crm) }, body: JSON.stringify(event('e-9')), chunked: true, fast: false },
  {
    name: 'over the body limit',
    headers: { ...json, ...bearer(KEYS.crm) },
    body: JSON.stringify(event('e-10', { data: { note: 'x'.repeat(3000) } })),
    fast: false,
  },
  {
    name: 'with a query string',
    headers: { ...json, ...bearer(KEYS.crm) },
    body: JSON.stringify(event('e-11')),
    path: '/api/v1/events?source=x',
    fast: false,
  },
];

/** Status, content type and body: what a client sees (Express adds an ETag, which tells the paths apart). */
function post(url: string, c: Case): Promise<{ status: number; type: string; body: unknown; etag: boolean }> {
  return new Promise((resolve, reject) => {
    const body = typeof c.body === 'string' ? Buffer.from(c.body) : c.body;
    const req = httpRequest(
      `${url}${c.path ?? '/api/v1/events'}`,
      { method: 'POST', headers: { ...c.headers, ...(c.chunked ? {} : { 'content-length': String(body.length) }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            etag: res.headers.etag !== undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    if (c.chunked) req.write(body);
    req.end(c.chunked ? undefined : body);
  });
}

describe('POST /api/v1/events: the fast path answers as the Express route does', () => {
  let fast: Awaited<ReturnType<typeof system>>;
  let plain: Awaited<ReturnType<typeof system>>;
  let fastUrl: string;
  let plainUrl: string;
  let plainServer: import('node:http').Server;
  beforeAll(async () => {
    fast = await system();
    plain = await system();
    fastUrl = (await fast.system.listen(0)).url;
    // the same app served by Express alone (as `app.listen` would)
    plainServer = plain.system.app.listen(0, '127.0.0.1');
    await new Promise((r) => plainServer.once('listening', r));
    plainUrl = `http://127.0.0.1:${(plainServer.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => plainServer.close(() => r()));
    await fast.system.close();
    await plain.system.close();
  });

  it('for every kind of request, in the same order, with the same effect', async () => {
    for (const c of CASES) {
      const a = await post(fastUrl, c);
      const b = await post(plainUrl, c);
      expect({ status: a.status, type: a.type, body: a.body }, c.name).toEqual({ status: b.status, type: b.type, body: b.body });
      expect(a.status, c.name).toBeLessThan(500);
      expect(b.etag, `${c.name}: Express answered`).toBe(true);
      expect(!a.etag, `${c.name}: fast path`).toBe(c.fast);
    }
    const stored = async (s: { db: OpenDatabase }) =>
      (await s.db.db.selectFrom('inbox').select(['event_id', 'payload']).orderBy('event_id').execute()).map((r) => [
        r.event_id,
        JSON.parse(r.payload),
      ]);
    expect(await stored(fast)).toEqual(await stored(plain));
    expect((await stored(fast)).map(([id]) => id)).toEqual(['e-1', 'e-11', 'e-2', 'e-3', 'e-8', 'e-9']);
    // both paths count requests the same way (each system is an instance of its own: its label set aside)
    const metrics = async (url: string) =>
      (await request(url).get('/metrics')).text
        .split('\n')
        .filter((l) => l.startsWith('signalbox_http_requests_total{route="/api/v1/events"'))
        .map((l) => l.replace(/,instance="instance-[^"]+"/, ''));
    expect(await metrics(fastUrl)).toEqual(await metrics(plainUrl));
  });
});

describe.each(storeFactories)('POST /api/v1/events naming contacts by id ($name)', (factory) => {
  it('takes a stored contact (or one merged into another), and refuses the batch that names one not stored, with the path of each', async () => {
    const s = await system(factory);
    try {
      const { url } = await s.system.listen(0);
      const upsert = (identities: Array<{ kind: string; value: string }>) =>
        request(url).post('/api/v1/contacts').set('authorization', `Bearer ${KEYS.admin}`).send({ identities });
      const phone = { kind: 'phone', value: '+254700000009' };
      const email = { kind: 'email', value: 'wanjiru@example.com' };
      const id = (await upsert([phone]).expect(201)).body.contact.id as string;
      const other = (await upsert([email]).expect(201)).body.contact.id as string;
      // one contact after all: the other is merged into it, and its id still names it
      expect((await upsert([phone, email]).expect(200)).body.merged).toEqual([other]);
      const byId = (eventId: string, contactId: string) => event(eventId, { contact: { id: contactId } });
      const refused = await request(url)
        .post('/api/v1/events')
        .set('authorization', `Bearer ${KEYS.crm}`)
        .send([byId('k-1', id), byId('k-2', 'nobody-1'), event('k-3'), byId('k-4', 'nobody-2')])
        .expect(404);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({
        code: 'CONTACT_NOT_FOUND',
        errors: [
          { path: '/1/contact/id', message: 'no such contact' },
          { path: '/3/contact/id', message: 'no such contact' },
        ],
      });
      const single = await request(url).post('/api/v1/events').set('x-api-key', KEYS.crm).send(byId('k-5', 'nobody-3')).expect(404);
      expect(single.body.errors).toEqual([{ path: '/contact/id', message: 'no such contact' }]);
      // nothing of a refused batch was kept
      expect(await s.db.db.selectFrom('inbox').select('event_id').execute()).toEqual([]);
      const ok = await request(url)
        .post('/api/v1/events')
        .set('authorization', `Bearer ${KEYS.crm}`)
        .send([byId('k-1', id), byId('k-6', other)])
        .expect(202);
      expect(ok.body).toEqual({ accepted: 2, duplicates: 0 });
      // requests that arrive together are written together, each refused or stored on its own
      const together = await Promise.all(
        [[byId('t-1', id)], [byId('t-2', 'nobody-4'), byId('t-3', id)], [byId('t-4', other), byId('k-1', id)]].map((batch) =>
          request(url).post('/api/v1/events').set('authorization', `Bearer ${KEYS.crm}`).send(batch),
        ),
      );
      expect(together.map((r) => [r.status, r.body.code ?? r.body])).toEqual([
        [202, { accepted: 1, duplicates: 0 }],
        [404, 'CONTACT_NOT_FOUND'],
        [202, { accepted: 1, duplicates: 1 }],
      ]);
      expect((await s.db.db.selectFrom('inbox').select('event_id').orderBy('event_id').execute()).map((r) => r.event_id)).toEqual([
        'k-1',
        'k-6',
        't-1',
        't-4',
      ]);
    } finally {
      await s.system.close();
      await s.dispose?.();
    }
  });
});

describe('byteLimit', () => {
  it('reads sizes as Express does, and refuses what it cannot read', () => {
    expect(byteLimit('256kb')).toBe(262_144);
    expect(byteLimit('1MB')).toBe(1_048_576);
    expect(byteLimit('1.5kb')).toBe(1536);
    expect(byteLimit('1000')).toBe(1000);
    expect(() => byteLimit('lots')).toThrow(/not a size/);
  });
});
