/** The CDC subscriber on real jsforce streaming (faye) against the fake's CometD server. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CdcDelivery, CdcSubscriber, type CdcSubscriberOptions, type ReplayStore } from './cdc-subscriber.js';
import type { SalesforceGateway } from './gateway.js';
import { connectedGateway } from './testing/connect.js';
import { FakeSalesforce } from './testing/fake-salesforce.js';

class MemoryReplays implements ReplayStore {
  readonly map = new Map<string, number>();
  async get(orgId: string, channel: string) {
    return this.map.get(`${orgId}${channel}`) ?? null;
  }
  async save(orgId: string, channel: string, id: number) {
    this.map.set(`${orgId}${channel}`, id);
  }
}

let fake: FakeSalesforce;
let orgId: string;
let gateway: SalesforceGateway;
let now = Date.now();
const subs: CdcSubscriber[] = [];
beforeEach(async () => {
  now = Date.now();
  fake = new FakeSalesforce({ now: () => now });
  fake.cometd.timeoutMs = 300;
  fake.oauth.sessionTtlMs = 365 * 24 * 3600_000;
  await fake.start();
  orgId = fake.org().id;
  gateway = (await connectedGateway(fake, orgId)).gateway;
});
afterEach(async () => {
  for (const s of subs.splice(0)) await s.stop();
  await fake.stop();
});

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const subscriber = (o: Partial<CdcSubscriberOptions> & { seen: CdcDelivery[] }, replays: ReplayStore) => {
  const s = new CdcSubscriber({
    gateway,
    orgId,
    entities: ['Contact', 'Case'],
    replayStore: replays,
    onEvent: async (d) => {
      o.seen.push(d);
    },
    backoff: { initialMs: 20, maxMs: 200 },
    ...o,
  });
  subs.push(s);
  return s;
};
const subscribed = () => until(() => fake.cometd.stats.subscribes.filter((x) => x.ok).length >= 2);

describe('Change Data Capture subscriber', () => {
  it('delivers changes with their replay ids, stores each after its handler, and skips echoes of our own writes', async () => {
    const replays = new MemoryReplays();
    const seen: CdcDelivery[] = [];
    await subscriber({ seen }, replays).start();
    await subscribed();
    const c = fake.userCreates(orgId, 'Contact', { LastName: 'Wanjiru' });
    fake.userCreates(orgId, 'Case', { ContactId: String(c.Id), Subject: 'Refund' });
    await until(() => seen.length === 2);
    expect(seen.map((d) => [d.channel, d.message.payload.ChangeEventHeader.changeType])).toEqual([
      ['/data/ContactChangeEvent', 'CREATE'],
      ['/data/CaseChangeEvent', 'CREATE'],
    ]);
    expect(replays.map.get(`${orgId}/data/CaseChangeEvent`)).toBe(seen[1]?.replayId);
    // our own write (REST, Sforce-Call-Options client=signalbox) comes back as an echo: stored, not handled
    await gateway.call(orgId, async (conn) => conn.sobject('Contact').update({ Id: String(c.Id), FirstName: 'Ana' }));
    const echoReplay = fake.cometd.latestReplayId(orgId);
    await until(() => replays.map.get(`${orgId}/data/ContactChangeEvent`) === echoReplay);
    expect(seen).toHaveLength(2);
    // a user's change to the same record is news
    fake.userUpdates(orgId, 'Contact', String(c.Id), { MobilePhone: '+254711000001' });
    await until(() => seen.length === 3);
    expect(seen[2]?.message.payload.MobilePhone).toBe('+254711000001');
  });

  it('resumes after being killed mid-stream: no event lost, none handled twice', async () => {
    const replays = new MemoryReplays();
    const done: number[] = [];
    const seenA: CdcDelivery[] = [];
    let killed: () => void = () => undefined;
    const a = subscriber(
      {
        seen: seenA,
        entities: ['Case'],
        onEvent: async (d) => {
          if (done.length === 4) {
            // the process dies while handling the fifth event: it is never finished
            killed();
            await new Promise(() => undefined);
          }
          done.push(d.replayId);
        },
      },
      replays,
    );
    const dead = new Promise<void>((r) => {
      killed = r;
    });
    await a.start();
    await until(() => fake.cometd.stats.subscribes.some((x) => x.ok));
    for (let i = 0; i < 10; i++) fake.userCreates(orgId, 'Case', { Subject: `case ${i}` });
    await dead;
    void a.stop(); // its queue never drains: the handler hangs, as a killed process would
    subs.splice(subs.indexOf(a), 1);
    for (let i = 10; i < 15; i++) fake.userCreates(orgId, 'Case', { Subject: `case ${i}` });
    const b = subscriber({ seen: [], entities: ['Case'], onEvent: async (d) => void done.push(d.replayId) }, replays);
    await b.start();
    await until(() => done.length === 15);
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toHaveLength(15);
    expect(new Set(done).size).toBe(15);
    expect(done).toEqual([...done].sort((x, y) => x - y));
  });

  it('falls back to -2 and asks for a full re-sync when the stored replay id is past the 72-hour retention (after 403::Unknown client too)', async () => {
    const replays = new MemoryReplays();
    const seen: CdcDelivery[] = [];
    const resyncs: string[] = [];
    await subscriber({ seen, entities: ['Case'], onResyncNeeded: (r) => void resyncs.push(r.channel) }, replays).start();
    await until(() => fake.cometd.stats.subscribes.some((x) => x.ok));
    fake.userCreates(orgId, 'Case', { Subject: 'old' });
    await until(() => seen.length === 1);
    // the stream stalls; a change made then expires three days later; then Salesforce drops the
    // client (jsforce#1709): faye re-handshakes and resubscribes from a replay id whose next event
    // is gone, which Salesforce refuses
    fake.cometd.stallClients();
    fake.userCreates(orgId, 'Case', { Subject: 'missed' });
    now += 73 * 3600_000;
    fake.userCreates(orgId, 'Case', { Subject: 'after the drop' });
    fake.cometd.dropClients();
    await until(() => resyncs.length === 1 && seen.length === 2);
    expect(resyncs).toEqual(['/data/CaseChangeEvent']);
    expect(fake.cometd.stats.subscribes.filter((x) => !x.ok).map((x) => x.replay)).toEqual([seen[0]?.replayId]);
    expect(fake.cometd.stats.subscribes.at(-1)).toMatchObject({ replay: -2, ok: true });
    expect(seen.at(-1)?.message.payload.Subject).toBe('after the drop');
  });

  it('rebuilds the client when connects silently stall (watchdog), and after a token refresh', async () => {
    const replays = new MemoryReplays();
    const seen: CdcDelivery[] = [];
    const s = subscriber({ seen, entities: ['Case'], watchdogMs: 800 }, replays);
    await s.start();
    await until(() => fake.cometd.stats.subscribes.some((x) => x.ok));
    fake.userCreates(orgId, 'Case', { Subject: 'before the stall' });
    await until(() => seen.length === 1);
    fake.cometd.stallClients();
    fake.userCreates(orgId, 'Case', { Subject: 'during the stall' });
    await until(() => seen.length === 2, 6000);
    expect(s.stats.rebuilds).toBeGreaterThanOrEqual(1);
    const handshakes = fake.cometd.stats.handshakes;
    fake.oauth.expireSessions(orgId);
    await gateway.call(orgId, async (conn) => conn.query('SELECT Id FROM Case')); // refreshes the token
    await until(() => fake.cometd.stats.handshakes > handshakes);
    fake.userCreates(orgId, 'Case', { Subject: 'after the refresh' });
    await until(() => seen.length === 3);
    expect(seen.map((d) => d.message.payload.Subject)).toEqual(['before the stall', 'during the stall', 'after the refresh']);
  });
});
