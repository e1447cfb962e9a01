/**
 * Crash safety: 300 WhatsApp messages whose 15-minute delivery timeout has passed, so 300 SMS
 * fallbacks are due, and 300 overdue-invoice events waiting in the inbox, each starting a payment
 * reminder whose first SMS is claimed in the event's own transaction (no timer row behind it). A
 * real server (child process, embedded SQLite, worker on) is killed with SIGKILL at random
 * moments, at least 10 times, and restarted. Every fallback and every reminder must reach the
 * sandbox provider exactly once per message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createSystem, openSqlite, RulesHolder, Store, TestClock } from '@signalbox/app';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { rng } from '@signalbox/engine/testing';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runUntilIdle } from '../support/harness.js';

// the compiled app, as deployed (the suite's global set-up builds it from the sources under test)
const MAIN = fileURLToPath(new URL('../../packages/app/dist/main.js', import.meta.url));
const N = 300;
const KILLS = 12;

/** One process of an embedded instance on `store` (no HTTP): its sandbox provider sends with `send`. */
function embeddedSystem(store: Store, send: (m: { claim: string }) => Promise<unknown>) {
  return createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: { now: () => new Date() },
    log: createLogger('silent'),
    apiKeys: [],
    sandboxSecret: 'crash-test-sandbox-secret-0123456789',
    instanceId: 'embedded',
    providers: (() => [{ name: 'sandbox', send }]) as never,
  });
}

/** `n` invoices overdue, each of a contact of its own (`<prefix>NNNN1`) in a zone where it is noon now: inbox rows to accept. */
async function overdueInvoices(store: Store, tag: string, prefix: string, n: number) {
  const offset = 12 - new Date().getUTCHours();
  const zone = `Etc/GMT${offset >= 0 ? '-' : '+'}${Math.abs(offset)}`;
  const events = [];
  for (let i = 0; i < n; i++) {
    const { contact } = await store.contacts.upsert(
      { identities: [{ kind: 'phone', value: `${prefix}${String(i).padStart(4, '0')}1` }], timezone: zone },
      Date.now(),
    );
    const e = {
      id: `${tag}-${i}`,
      source: 'api',
      type: 'invoice.overdue',
      occurredAt: new Date().toISOString(),
      contact: { id: contact.id },
      object: { type: 'invoice', id: `${tag}-inv-${i}` },
    };
    events.push({ source: 'api', eventId: e.id, type: e.type, payload: e });
  }
  return events;
}

function startServer(dataDir: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=signalbox-compiled', MAIN], {
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'silent',
        WORKER_LEASE_MS: '1000',
        SANDBOX_SECRET: 'crash-test-sandbox-secret-0123456789',
        SIGNALBOX_API_KEYS: 'ops:admin:crash-test-admin-key-0123456789',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Signalbox is running')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`server exited before it was ready (${code}): ${out}`)));
  });
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('crash safety', () => {
  it(`${N} pending fallbacks and ${N} reminders claimed in their events' transactions survive ${KILLS} SIGKILLs: each is sent exactly once`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-crash-'));
    const dbFile = join(dataDir, 'signalbox.db');
    // local time noon for the contacts, whatever time the test runs
    const offset = 12 - new Date().getUTCHours();
    const zone = `Etc/GMT${offset >= 0 ? '-' : '+'}${Math.abs(offset)}`;

    // 1. set up in-process, 20 minutes in the past: every WhatsApp timeout is already due
    const clock = new TestClock(new Date(Date.now() - 20 * 60_000));
    const store = new Store(await openSqlite(dbFile));
    const setup = createSystem({
      store,
      rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
      clock,
      log: createLogger('silent'),
      apiKeys: [],
      sandboxSecret: 'crash-test-sandbox-secret-0123456789',
    });
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      // numbers ending in 9: the sandbox's WhatsApp stays silent, so the timeout decides
      const phone = `+2547330${String(i).padStart(4, '0')}9`;
      const { contact } = await store.contacts.upsert(
        { identities: [{ kind: 'phone', value: phone }], timezone: zone, capabilities: { whatsapp: true } },
        clock.now().getTime(),
      );
      const r = await setup.runtime.sender.unit((u) =>
        setup.runtime.requests.request(u, contact.id, { type: 'service', template: 'order_update', priority: 'normal' }),
      );
      ids.push(r.messageId);
    }
    await runUntilIdle(setup.runtime);
    expect((await store.sandbox.sends('whatsapp')).length).toBe(N);
    expect((await store.timers.pending()).filter((t) => t.kind === 'timeout')).toHaveLength(N);
    const events = [];
    for (let i = 0; i < N; i++) {
      const { contact } = await store.contacts.upsert(
        { identities: [{ kind: 'phone', value: `+2547331${String(i).padStart(4, '0')}1` }], timezone: zone },
        clock.now().getTime(),
      );
      const e = {
        id: `overdue-${i}`,
        source: 'api',
        type: 'invoice.overdue',
        occurredAt: clock.now().toISOString(),
        contact: { id: contact.id },
        object: { type: 'invoice', id: `inv-${i}` },
      };
      events.push({ source: 'api', eventId: e.id, type: e.type, payload: e });
    }
    await store.inbox.acceptMany(events, clock.now().getTime());
    await setup.close();

    // 2. a real server, killed at random moments while it works through the fallbacks
    const r = rng(2026);
    const smsSent = () => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare("select count(*) as n from sandbox_sends where channel = 'sms'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const progress: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = await startServer(dataDir);
      await new Promise((res) => setTimeout(res, 30 + Math.floor(r() * 400)));
      await killed(child);
      progress.push(smsSent());
    }
    // 3. a last life, left to finish
    const last = await startServer(dataDir);
    const deadline = Date.now() + 60_000;
    while (smsSent() < 2 * N && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    await new Promise((res) => setTimeout(res, 1500)); // anything still in flight would show now
    last.kill('SIGTERM');
    await new Promise((res) => last.once('exit', res));

    const db = new Database(dbFile, { readonly: true });
    const sms = db.prepare("select claim, calls from sandbox_sends where channel = 'sms'").all() as Array<{ claim: string; calls: number }>;
    const attempts = db.prepare('select message_id, step, status from attempts where step = 1').all() as Array<{
      message_id: string;
      step: number;
      status: string;
    }>;
    const reminders = db
      .prepare("select id from messages where journey_id = 'payment-reminder'")
      .all()
      .map((m) => (m as { id: string }).id);
    const unsettled = db.prepare("select count(*) as n from attempts where status = 'claimed' or lease_expires_at is not null").get() as {
      n: number;
    };
    const inbox = db.prepare('select count(*) as n from inbox where processed_at is null or error is not null').get() as { n: number };
    db.close();
    // exactly one SMS per message, each under its (message, step) claim
    const fallbacks = sms.filter((s) => s.claim.endsWith(':1'));
    expect(fallbacks).toHaveLength(N);
    expect(new Set(fallbacks.map((s) => s.claim))).toEqual(new Set(ids.map((id) => `${id}:1`)));
    expect(attempts).toHaveLength(N);
    // one reminder per event (one journey each), sent under its message's first claim
    expect(reminders).toHaveLength(N);
    const firstSends = sms.filter((s) => s.claim.endsWith(':0'));
    expect(firstSends).toHaveLength(N);
    expect(new Set(firstSends.map((s) => s.claim))).toEqual(new Set(reminders.map((id) => `${id}:0`)));
    expect(unsettled.n).toBe(0);
    expect(inbox.n).toBe(0);
    // the kills landed while work was in progress (not all before, not all after)
    expect(progress.some((p) => p > 0 && p < N) || progress.every((p) => p === 0)).toBe(true);
    console.log(
      `crash safety: SMS sent after each kill ${progress.join(', ')}; provider calls ${sms.reduce((n, s) => n + s.calls, 0)} for ${2 * N} messages`,
    );
  }, 180_000);

  it('stalled sends are resumed a few at a time, side by side: one slow provider call per round, not one per send, each once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-stalled-'));
    const M = 12;
    const db = await openSqlite(join(dataDir, 'signalbox.db'));
    const store = new Store(db);
    // a process that claims its sends and never hears back
    const dying = embeddedSystem(store, () => new Promise(() => undefined));
    const events = await overdueInvoices(store, 'stalled', '+2547334', M);
    await store.inbox.acceptMany(events, Date.now());
    void dying.runtime.inbox.processReady();
    const claimed = async () =>
      Number(
        (
          await db.db
            .selectFrom('attempts')
            .select((e) => e.fn.countAll<number>().as('n'))
            .where('status', '=', 'claimed')
            .executeTakeFirstOrThrow()
        ).n,
      );
    while ((await claimed()) < M) await new Promise((r) => setTimeout(r, 20));
    // the next process: a provider that takes its time, counting the calls in flight at once
    let inFlight = 0;
    let most = 0;
    const calls: string[] = [];
    const resumer = embeddedSystem(store, async (m) => {
      calls.push(m.claim);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 400));
      inFlight--;
      return { status: 'accepted', providerMessageId: `SM-${m.claim}`, cost: 1 };
    });
    expect(await resumer.runtime.resumeOwnClaims('embedded')).toBe(M);
    const perRound: number[] = [];
    while (calls.length < M && perRound.length < 10) {
      const before = calls.length;
      await resumer.runtime.round();
      perRound.push(calls.length - before);
    }
    // at most a handful per round, all of them at once
    expect(perRound.every((n) => n <= 8)).toBe(true);
    expect(perRound.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(most).toBeGreaterThan(1);
    // each sent once, and recorded
    expect(new Set(calls).size).toBe(M);
    expect(calls).toHaveLength(M);
    expect(await claimed()).toBe(0);
    await store.close();
  });

  it('a restarted embedded instance resumes the sends its dead process had claimed at once, not when their leases run out', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-resume-'));
    const dbFile = join(dataDir, 'signalbox.db');
    const M = 50;
    // a process that claims its sends (leased for the default 60 s) and dies before any provider answers
    const store = new Store(await openSqlite(dbFile));
    const dying = embeddedSystem(store, () => new Promise(() => undefined));
    const events = await overdueInvoices(store, 'resume', '+2547332', M);
    await store.inbox.acceptMany(events, Date.now());
    void dying.runtime.inbox.processReady(); // never finishes: the provider never answers
    const leased = () => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return (
          db.prepare("select count(*) as n from attempts where status = 'claimed' and lease_expires_at > ?").get(Date.now()) as {
            n: number;
          }
        ).n;
      } finally {
        db.close();
      }
    };
    while (leased() < M) await new Promise((r) => setTimeout(r, 20));
    // the process is gone (its connection closed, nothing it held answered)
    await store.close();
    const started = Date.now();
    const server = await startServer(dataDir, { WORKER_LEASE_MS: '60000' });
    const sent = () => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare("select count(*) as n from sandbox_sends where channel = 'sms'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    while (sent() < M && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
    const took = Date.now() - started;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    expect(sent()).toBe(M);
    // well inside the 60 s the dead process's leases had left
    expect(took).toBeLessThan(15_000);
  });
});
