/**
 * Outbound limits shared by every instance (production profile: PostgreSQL and Redis): two real
 * instances (processes) sync the same HubSpot portal — the initial sync, then agents opening the
 * card of contacts created in HubSpot since, on both instances at once — against the fake HubSpot,
 * which enforces HubSpot's 100 requests per 10 s per portal and answers 429 past it. Each
 * instance alone would go at the whole limit (its own window allows 100); together, through the
 * portal's one limiter and window in Redis, they never go past it. (The initial sync alone is
 * paced by the database, far below the limit: the cards are what make the limit bind.)
 */
import { connectRedis } from '@signalbox/app';
import { dropPrefix, FakeHubspot, TEST_REDIS_URL, testPrefix } from '@signalbox/connectors/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingProxy, countingProxy } from '../support/counting-proxy.js';
import { cuttableProxy } from '../support/cuttable-proxy.js';
import { KEYS, startHarness } from '../support/harness.js';
import { freshDatabase, type Instance, KEY, startInstance, until } from '../support/instances.js';

const PORTAL = 7100;
const SYNCED = 300;
/** Cards opened for contacts not synced yet: one HubSpot read each, more than a window allows with the rest. */
const CARDS = 160;

describe('two instances, one HubSpot portal, limits in Redis', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let fake: FakeHubspot;
  const proxies: CountingProxy[] = [];
  const instances: Instance[] = [];
  const prefix = testPrefix();

  beforeAll(async () => {
    db = await freshDatabase();
    fake = new FakeHubspot();
    await fake.start();
    fake.seedContacts(PORTAL, SYNCED);
  });
  afterAll(async () => {
    for (const i of instances) {
      i.child.kill('SIGKILL');
      await i.exited;
    }
    for (const p of proxies) await p.stop();
    await fake.stop();
    await db.drop();
    await dropPrefix(prefix);
  });

  it("both sync the same portal at once against the fake's 100 requests / 10 s: 0 answers 429", async () => {
    const env = (api: string) => ({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      HUBSPOT_CLIENT_ID: fake.clientId,
      HUBSPOT_CLIENT_SECRET: fake.clientSecret,
      HUBSPOT_API_BASE: api,
      // instances of one deployment share the key that seals portals' tokens
      HUBSPOT_TOKEN_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    // each instance reaches HubSpot through a counter of its own
    proxies.push(await countingProxy(fake.url), await countingProxy(fake.url));
    instances.push(await startInstance({ id: 'a', databaseUrl: db.url, env: env((proxies[0] as CountingProxy).url) }));
    instances.push(await startInstance({ id: 'b', databaseUrl: db.url, env: env((proxies[1] as CountingProxy).url) }));
    for (const i of instances)
      expect(await (await fetch(`${i.url}/readyz`)).json()).toMatchObject({ status: 'ready', store: 'postgres', redis: 'ok' });
    const [a] = instances as [Instance, Instance];

    // installed on a: both workers see the unfinished initial sync and page through it
    const install = await fetch(`${a.url}/hubspot/install`, { redirect: 'manual', headers: { authorization: `Bearer ${KEY}` } });
    expect(install.status).toBe(302);
    const back = new URL(fake.authorize(install.headers.get('location') as string, { portalId: PORTAL }));
    expect((await fetch(`${a.url}/hubspot/oauth/callback${back.search}`)).status).toBe(200);
    // the state is good once on every instance: the same callback replayed on b is refused
    const replayed = await fetch(`${(instances[1] as Instance).url}/hubspot/oauth/callback${back.search}`);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ code: 'OAUTH_STATE_USED' });
    await until(
      'the initial sync to finish',
      async () => {
        const [row] = await db.query<{ done: number }>(`select done from crm_sync where crm = 'hubspot' and kind = 'initial'`);
        return row?.done === 1;
      },
      120_000,
      250,
    );

    // contacts created in HubSpot since; agents open their cards on both instances, 8 at a time each
    for (let k = 1; k <= CARDS; k++)
      fake.upsertObject(PORTAL, 'contacts', String(50_000 + k), {
        email: `new${k}@example.com`,
        phone: `+2547${String(50_000 + k).padStart(8, '0')}`,
      });
    const statuses: number[] = [];
    await Promise.all(
      instances.map(async (inst, n) => {
        const mine = Array.from({ length: CARDS / 2 }, (_, k) => String(50_001 + 2 * k + n));
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let id = mine.shift(); id !== undefined; id = mine.shift()) {
              const card = await fake.fetchFromCard(
                `${inst.url}/hubspot/card`,
                { portalId: PORTAL, userId: 7 },
                { query: { objectId: id } },
              );
              statuses.push(card.status);
              await card.arrayBuffer();
            }
          }),
        );
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const [synced] = await db.query<{ n: string }>(`select count(*) n from identities where kind = 'hubspot'`);
    expect(Number(synced?.n)).toBe(SYNCED + CARDS);
    // both called HubSpot, more in all than one window allows: the limit is what paced them
    const [byA, byB] = proxies.map((p) => p.count) as [number, number];
    expect(byA).toBeGreaterThan(CARDS / 4);
    expect(byB).toBeGreaterThan(CARDS / 4);
    expect(byA + byB).toBeGreaterThan(fake.rateLimit.max + 50);
    // and HubSpot never had to say no
    expect(fake.throttled).toBe(0);
    for (const i of instances) expect(i.stderr()).not.toMatch(/unhandled|FATAL/i);
  }, 240_000);
});

describe('Redis away', () => {
  it('at start: the instance stops at once with where it looked and why (not a hang), never the password', async () => {
    const db = await freshDatabase();
    try {
      // nothing listens on port 1
      const started = startInstance({
        id: 'no-redis',
        databaseUrl: db.url,
        env: { REDIS_URL: 'redis://signalbox:s3cret-pass@127.0.0.1:1/4' },
      });
      const err = (await started.then(
        () => new Error('started'),
        (e: Error) => e,
      )) as Error;
      expect(err.message).toMatch(/could not start: Redis at redis:\/\/127\.0\.0\.1:1\/4 is not reachable: .*ECONNREFUSED/);
      expect(err.message).not.toContain('s3cret-pass');
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('a database number the server does not have stops the start (ioredis would go on in database 0, among others’ keys)', async () => {
    const db = await freshDatabase();
    try {
      const err = await startInstance({ id: 'redis-db-99', databaseUrl: db.url, env: { REDIS_URL: 'redis://127.0.0.1:6379/99' } }).then(
        () => new Error('started'),
        (e: Error) => e,
      );
      expect(err.message).toMatch(
        /could not start: Redis at redis:\/\/127\.0\.0\.1:6379\/99 is not reachable: database 99 cannot be selected there \(ERR DB index is out of range\)/,
      );
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('while running: /readyz answers 503 NOT_READY naming Redis once it is gone; what needs it answers 503, not a hang', async () => {
    const proxy = await cuttableProxy(Number(new URL(TEST_REDIS_URL).port));
    const url = `redis://127.0.0.1:${proxy.port}/11`;
    const prefix = testPrefix();
    const fake = new FakeHubspot();
    await fake.start();
    const h = await startHarness({
      at: '2026-11-23T07:00:00Z',
      hubspot: { clientId: fake.clientId, clientSecret: fake.clientSecret, apiBase: fake.url },
      redis: { client: await connectRedis(url, () => undefined), url, prefix },
    });
    try {
      expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
      // one install made, another begun, while Redis was there
      const link = async () => {
        const install = await fetch(`${h.url}/hubspot/install`, { redirect: 'manual', headers: { authorization: `Bearer ${KEYS.admin}` } });
        return new URL(fake.authorize(install.headers.get('location') as string, { portalId: PORTAL }));
      };
      expect((await fetch(`${h.url}/hubspot/oauth/callback${(await link()).search}`)).status).toBe(200);
      const back = await link();
      await proxy.cut();
      // its callback cannot check the state's one use: 503 with a code, at once
      const callback = await fetch(`${h.url}/hubspot/oauth/callback${back.search}`);
      expect(callback.status).toBe(503);
      expect(await callback.json()).toMatchObject({ code: 'CACHE_UNAVAILABLE' });
      const answer = await until('readiness to notice', async () => {
        const r = await fetch(`${h.url}/readyz`);
        return r.status === 503 ? ((await r.json()) as { code: string; detail: string }) : false;
      });
      expect(answer).toMatchObject({ code: 'NOT_READY', detail: 'redis is not reachable' });
    } finally {
      await h.close();
      await fake.stop();
      await dropPrefix(prefix);
    }
  }, 60_000);
});
