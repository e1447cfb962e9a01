/**
 * Outbound limits shared by every instance (production profile: PostgreSQL and Redis): two real
 * instances (processes) sync the same HubSpot portal at once against the fake HubSpot, which
 * enforces HubSpot's 100 requests per 10 s per portal and answers 429 past it. Each instance
 * alone would go at the whole limit; together, through the portal's one limiter in Redis, they
 * never go past it.
 */
import { dropPrefix, FakeHubspot, TEST_REDIS_URL, testPrefix } from '@signalbox/connectors/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingProxy, countingProxy } from '../support/counting-proxy.js';
import { freshDatabase, type Instance, startInstance, until } from '../support/instances.js';

const PORTAL = 7100;
/** 100 pages of 100: more requests than one 10-second window allows, whoever makes them. */
const CONTACTS = 10_000;

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
    fake.seedContacts(PORTAL, CONTACTS);
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
    });
    // each instance reaches HubSpot through a counter of its own
    proxies.push(await countingProxy(fake.url), await countingProxy(fake.url));
    instances.push(await startInstance({ id: 'a', databaseUrl: db.url, env: env((proxies[0] as CountingProxy).url) }));
    instances.push(await startInstance({ id: 'b', databaseUrl: db.url, env: env((proxies[1] as CountingProxy).url) }));
    const [a] = instances as [Instance, Instance];
    const ready = await (await fetch(`${a.url}/readyz`)).json();
    expect(ready).toMatchObject({ status: 'ready', store: 'postgres', redis: 'ok' });

    // installed on a: both workers see the unfinished initial sync and page through it together
    const install = await fetch(`${a.url}/hubspot/install`, { redirect: 'manual' });
    expect(install.status).toBe(302);
    const back = new URL(fake.authorize(install.headers.get('location') as string, { portalId: PORTAL }));
    const callback = await fetch(`${a.url}/hubspot/oauth/callback${back.search}`);
    expect(callback.status).toBe(200);

    await until(
      'the initial sync to finish',
      async () => {
        const [row] = await db.query<{ done: number }>(`select done from crm_sync where crm = 'hubspot' and kind = 'initial'`);
        return row?.done === 1;
      },
      180_000,
      500,
    );
    const [synced] = await db.query<{ n: string }>(`select count(*) n from identities where kind = 'hubspot'`);
    expect(Number(synced?.n)).toBe(CONTACTS);
    // both made calls, more in all than one window allows (so the limit was what paced them)
    const [byA, byB] = proxies.map((p) => p.count) as [number, number];
    expect(byA).toBeGreaterThan(10);
    expect(byB).toBeGreaterThan(10);
    expect(byA + byB).toBeGreaterThan(fake.rateLimit.max);
    // and HubSpot never had to say no
    expect(fake.throttled).toBe(0);
    for (const i of instances) expect(i.stderr()).not.toMatch(/unhandled|FATAL/i);
  }, 240_000);
});
