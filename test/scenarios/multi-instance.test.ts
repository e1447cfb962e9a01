/**
 * The production profile as a platform runs it: several real instances (processes) against one
 * PostgreSQL, racing on the same events, killed without warning and restarted, one publishing
 * rules the others must follow, one shut down gracefully. Counted in the database: every accepted
 * event applied once, every due send made once, nothing lost.
 */
import { DEFAULT_RULESET } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, get, type Instance, KEY, post, rulesetFile, scrape, startInstance, until } from '../support/instances.js';

/** A zone where it is early afternoon now (quiet hours never hold the sends back during the test). */
function afternoonZone(): string {
  const offset = ((13 - new Date().getUTCHours() + 36) % 24) - 12; // -12 … +11
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/** The default ruleset with no quiet hours and no best-hour waits: every send is due at once. */
function anyTimeRuleset(): string {
  const rs = structuredClone(DEFAULT_RULESET) as Record<string, unknown> & { quietHours: Record<string, unknown> };
  rs.quietHours = { default: { start: '00:00', end: '23:59' } };
  return rulesetFile(rs);
}

/** `n` invoice.overdue events, one per contact (each starts a payment reminder: one send now). */
function overdue(from: number, n: number, tag: string) {
  const zone = afternoonZone();
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      id: `${tag}-${i}`,
      type: 'invoice.overdue',
      occurredAt: new Date().toISOString(),
      contact: { identities: [{ kind: 'phone', value: `+2547${String(i).padStart(8, '0')}` }], timezone: zone },
      object: { type: 'invoice', id: `${tag}-inv-${i}` },
    };
  });
}

/** Posts `events` in batches of 100, every batch to every instance given, a few at a time. */
async function deliver(instances: Instance[], events: unknown[], concurrency = 6): Promise<void> {
  const jobs: Array<() => Promise<void>> = [];
  for (let i = 0; i < events.length; i += 100)
    for (const inst of instances)
      jobs.push(async () => {
        const r = await post(`${inst.url}/api/v1/events`, events.slice(i, i + 100));
        if (r.status !== 202) throw new Error(`${inst.id} answered ${r.status}: ${JSON.stringify(r.body)}`);
      });
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let j = next++; j < jobs.length; j = next++) await (jobs[j] as () => Promise<void>)();
    }),
  );
}

type Db = Awaited<ReturnType<typeof freshDatabase>>;
const count = async (db: Db, sql: string, values: unknown[] = []) => Number((await db.query<{ n: string }>(sql, values))[0]?.n ?? 0);

/** Every event in, applied, and every send made: the counts that must come out exact. */
async function settled(db: Db, tag: string, n: number) {
  return until(
    `${n} events applied and ${n} sends made`,
    async () => {
      const applied = await count(db, `select count(*) n from inbox where event_id like $1 and processed_at is not null`, [`${tag}-%`]);
      const sent = await count(
        db,
        `select count(*) n from sandbox_sends s join attempts t on t.claim = s.claim join messages m on m.id = t.message_id where m.template = 'payment_reminder_friendly'`,
      );
      return applied === n && sent >= n ? { applied, sent } : false;
    },
    120_000,
    500,
  );
}

describe('several instances on one PostgreSQL', () => {
  let db: Db;
  const instances: Instance[] = [];
  const stopAll = async () => {
    for (const i of instances.splice(0)) {
      i.child.kill('SIGKILL');
      await i.exited;
    }
  };
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await stopAll();
    await db.drop();
  });

  it('three instances racing on the same 5,000 events (each delivered to all three): every event applied once, every send made once', async () => {
    const env = { SIGNALBOX_RULESET: anyTimeRuleset() };
    // the first one migrates; the others start together
    instances.push(await startInstance({ id: 'a', databaseUrl: db.url, env }));
    instances.push(...(await Promise.all(['b', 'c'].map((id) => startInstance({ id, databaseUrl: db.url, env })))));
    await deliver(instances, overdue(0, 5_000, 'race'));
    const r = await settled(db, 'race', 5_000);
    expect(r.applied).toBe(5_000);
    // exactly one reminder per contact, one send per reminder
    expect(await count(db, `select count(*) n from messages where template = 'payment_reminder_friendly'`)).toBe(5_000);
    expect(await count(db, `select count(distinct contact_id) n from messages where template = 'payment_reminder_friendly'`)).toBe(5_000);
    expect(await count(db, `select count(*) n from sandbox_sends`)).toBe(5_000);
    expect(await count(db, `select count(distinct address) n from sandbox_sends`)).toBe(5_000);
    expect(await count(db, `select count(*) n from contact_events where type = 'invoice.overdue'`)).toBe(5_000);
    expect(await count(db, `select count(*) n from journey_instances where journey_id = 'payment-reminder'`)).toBe(5_000);
    // the work was shared: every instance applied events and called the provider
    for (const i of instances) {
      const metrics = await scrape(i.url);
      const calls = [...metrics.matchAll(/^signalbox_provider_calls_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(calls, `provider calls made by ${i.id}`).toBeGreaterThan(0);
    }
    for (const i of instances) expect(i.stderr()).not.toMatch(/unhandled|FATAL/i);
    await stopAll();
  }, 240_000);

  it('one instance killed (SIGKILL) every few seconds and restarted: every accepted event applied once, every due send made once, claims retaken within the lease', async () => {
    const env = { SIGNALBOX_RULESET: anyTimeRuleset(), WORKER_LEASE_MS: '2000' };
    instances.push(...(await Promise.all(['a', 'b', 'c'].map((id) => startInstance({ id, databaseUrl: db.url, env })))));
    const before = await count(db, `select count(*) n from sandbox_sends`);
    const events = overdue(10_000, 3_000, 'chaos');
    // deliveries go to the two instances never killed; the third is killed and restarted meanwhile
    const delivering = deliver(instances.slice(0, 2), events, 4);
    let kills = 0;
    const chaos = (async () => {
      for (let round = 0; round < 4; round++) {
        await new Promise((r) => setTimeout(r, 1_500));
        const victim = instances.findIndex((i) => i.id === 'c');
        const v = instances[victim] as Instance;
        v.child.kill('SIGKILL');
        await v.exited;
        kills++;
        // the last time it stays down: the others must retake what it held once its leases end
        if (round < 3) instances[victim] = await startInstance({ id: 'c', databaseUrl: db.url, env });
        else instances.splice(victim, 1);
      }
    })();
    await Promise.all([delivering, chaos]);
    expect(kills).toBe(4);
    const r = await settled(db, 'chaos', 3_000);
    expect(r.applied).toBe(3_000);
    const sends = await db.query<{ address: string; n: string }>(
      `select s.address, count(*) n from sandbox_sends s join attempts t on t.claim = s.claim join messages m on m.id = t.message_id
         where m.template = 'payment_reminder_friendly' group by s.address having count(*) > 1`,
    );
    expect(sends).toEqual([]);
    expect((await count(db, `select count(*) n from sandbox_sends`)) - before).toBe(3_000);
    expect(
      await count(db, `select count(*) n from messages m where m.template = 'payment_reminder_friendly' and m.status = 'queued'`),
    ).toBe(0);
    // nothing is still claimed by the instance that stayed down
    expect(await count(db, `select count(*) n from attempts where lease_owner = 'c' and lease_expires_at > $1`, [Date.now()])).toBe(0);
    await stopAll();
  }, 240_000);

  it('a ruleset published on one instance is active on the others within a second, and their decisions record it', async () => {
    instances.push(...(await Promise.all(['a', 'b'].map((id) => startInstance({ id, databaseUrl: db.url })))));
    const [a, b] = instances as [Instance, Instance];
    const doc = structuredClone(DEFAULT_RULESET) as { version: string };
    doc.version = 'published-on-a';
    const published = await fetch(`${a.url}/api/v1/rules`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-signalbox-reason': 'test' },
      body: JSON.stringify(doc),
    });
    expect(published.status).toBe(200);
    const t0 = Date.now();
    await until(
      'b to use the new version',
      async () => ((await get(`${b.url}/api/v1/rules`)).body as { version: string }).version === 'published-on-a',
      5_000,
      50,
    );
    expect(Date.now() - t0).toBeLessThan(1_000);
    const preview = await post(`${b.url}/api/v1/decisions/preview`, {
      contact: { identities: [{ kind: 'phone', value: '+254700000777' }] },
      message: { type: 'transactional' },
    });
    expect((preview.body as { decision: { rulesetVersion: string } }).decision.rulesetVersion).toBe('published-on-a');
    await stopAll();
  }, 120_000);

  it('SIGTERM: the instance says it is not ready first, finishes its round, releases its claims and exits cleanly', async () => {
    const env = { SHUTDOWN_DELAY_MS: '600', SIGNALBOX_RULESET: anyTimeRuleset() };
    // sends left at `sent` by the instances killed above: their receipts were queued in the process
    // that died (a lost webhook: a step's delivery timeout expires it, a last step stays at `sent`)
    const withoutReceipts = async () =>
      (
        await db.query<{ claim: string }>(
          `select a.claim from attempts a where a.status = 'sent' and not exists (select 1 from pending_receipts p
             where p.provider = a.provider and p.provider_message_id = a.provider_message_id)`,
        )
      ).map((r) => r.claim);
    const lostBefore = new Set(await withoutReceipts());
    instances.push(await startInstance({ id: 'd', databaseUrl: db.url, env }));
    const d = instances[0] as Instance;
    await deliver([d], overdue(20_000, 300, 'term'));
    const ready = await fetch(`${d.url}/readyz`);
    expect(ready.status).toBe(200);
    // behind one address, the answer names the instance that gave it
    expect(((await ready.json()) as { instance: string }).instance).toBe('d');
    expect(((await (await fetch(`${d.url}/healthz`)).json()) as { instance: string }).instance).toBe('d');
    d.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const draining = await fetch(`${d.url}/readyz`);
    expect(draining.status).toBe(503);
    expect(((await draining.json()) as { code: string }).code).toBe('DRAINING');
    expect(await d.exited).toBe(0);
    instances.splice(0);
    // the receipts of its last sends were taken before its server closed (the sandbox posts them to
    // the instance that sent): none of what it sent is left without them, applied or parked (a
    // receipt that raced its send's bookkeeping waits, durable, for the sweep of whoever runs next).
    // That includes the killed instances' stalled sends it made again under their claims: the
    // sandbox answers a claim it knows with the same message and posts its receipts again
    expect((await withoutReceipts()).filter((claim) => !lostBefore.has(claim))).toEqual([]);
    // nothing it held is still leased: another instance takes everything left at once
    expect(await count(db, `select count(*) n from attempts where lease_owner = 'd' and lease_expires_at > $1`, [Date.now()])).toBe(0);
    expect(await count(db, `select count(*) n from timers where claim_owner = 'd' and claim_expires_at > $1`, [Date.now()])).toBe(0);
    instances.push(await startInstance({ id: 'e', databaseUrl: db.url, env }));
    await settled(db, 'term', 300);
  }, 120_000);
});
