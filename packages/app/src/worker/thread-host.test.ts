import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { Store } from '../store/store.js';
import { createSystem, type System } from '../system.js';
import { ThreadHost } from './thread-host.js';

const KEY = 'thread-test-admin-key-0123456789';
// a zone where it is midday now: quiet hours never hold these sends back
const offset = 12 - new Date().getUTCHours();
const NOON = `Etc/GMT${offset >= 0 ? '-' : '+'}${Math.abs(offset)}`;

let running: { system: System; store: Store } | null = null;
afterEach(async () => {
  await running?.system.close();
  running = null;
});

/** The embedded profile as `pnpm start` wires it: the worker in its own thread, one SQLite file. */
async function embedded() {
  const file = join(mkdtempSync(join(tmpdir(), 'signalbox-thread-')), 'signalbox.db');
  const turns = new SharedArrayBuffer(8);
  const store = new Store(await openSqlite(file, { checkpoints: 'background', turns }));
  const system = createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: systemClock,
    log: createLogger('silent'),
    apiKeys: [{ name: 'test', role: 'admin', secret: KEY }],
    sandboxSecret: 'thread-test-sandbox-secret-0123456789',
    workerThread: { database: { kind: 'sqlite', file, checkpoints: 'elsewhere', turns }, logLevel: 'silent' },
  });
  running = { system, store };
  const { url } = await system.listen(0);
  system.worker.start();
  await system.worker.whenReady();
  const worker = system.worker as ThreadHost;
  expect(worker).toBeInstanceOf(ThreadHost);
  const api = () => request(url);
  const contact = async (phone: string) =>
    (
      await api()
        .post('/api/v1/contacts')
        .set('authorization', `Bearer ${KEY}`)
        .send({ identities: [{ kind: 'phone', value: phone }], market: 'KE', timezone: NOON })
        .expect(201)
    ).body.contact.id as string;
  const overdue = (contactId: string, n: string) =>
    api()
      .post('/api/v1/events')
      .set('authorization', `Bearer ${KEY}`)
      .send({
        id: `ov-${n}`,
        type: 'invoice.overdue',
        occurredAt: new Date().toISOString(),
        contact: { id: contactId },
        object: { type: 'invoice', id: `inv-${n}` },
      });
  return { system, store, worker, contact, overdue };
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hot writes on the embedded profile', () => {
  it('are made by the worker thread: events are stored, sent, and their receipts applied, none by the HTTP thread', async () => {
    const e = await embedded();
    const id = await e.contact('+254733200001');
    const answers = await Promise.all(['a', 'b', 'c', 'a'].map((n) => e.overdue(id, n)));
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    // the same event twice at once: stored once, the second told it was a duplicate
    expect(answers.reduce((sum, r) => sum + r.body.accepted, 0)).toBe(3);
    expect(answers.reduce((sum, r) => sum + r.body.duplicates, 0)).toBe(1);
    await until('three reminders sent and read', async () => {
      const sends = await e.store.sandbox.sends();
      if (sends.length !== 3) return false;
      const attempts = await Promise.all(sends.map((s) => e.store.attempts.byClaim(s.claim)));
      return attempts.every((a) => a?.status === 'read');
    });
    expect(e.worker.hotWriteCounts.local).toBe(0);
    // at least one inbox write and one receipt batch
    expect(e.worker.hotWriteCounts.thread).toBeGreaterThanOrEqual(2);
  });

  it('are made by the HTTP thread while the worker thread is stopped, and nothing is lost', async () => {
    const e = await embedded();
    const id = await e.contact('+254733200002');
    await e.worker.stop();
    const r = await e.overdue(id, 'while-stopped').expect(202);
    expect(r.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(e.worker.hotWriteCounts.local).toBe(1);
    // stored, waiting for a worker (SQLite: taking is only reading until the transaction's writes)
    expect((await e.store.transaction((tx) => tx.inbox.take(Date.now(), 10))).map((x) => x.eventId)).toEqual(['ov-while-stopped']);
  });

  it('a thread that dies with writes unanswered: each is made by the HTTP thread instead, once', async () => {
    const e = await embedded();
    const id = await e.contact('+254733200003');
    const inside = e.worker as unknown as { thread: NodeWorker; pending: Map<number, unknown> };
    const thread = inside.thread;
    // 40 requests on their way; the thread is killed the moment a write is handed over unanswered
    const posts = Array.from({ length: 40 }, (_, i) => e.overdue(id, `crash-${i}`).then((r) => r));
    const deadline = Date.now() + 10_000;
    while (inside.pending.size === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    await thread.terminate();
    const answers = await Promise.all(posts);
    expect(e.worker.hotWriteCounts.local).toBeGreaterThanOrEqual(1);
    expect(answers.every((r) => r.status === 202)).toBe(true);
    // a write the thread made before dying is found again: a duplicate to whoever asked, not lost
    expect(answers.reduce((sum, r) => sum + r.body.accepted + r.body.duplicates, 0)).toBe(40);
    await until('the events processed by the restarted thread', async () => (await e.store.sandbox.sends()).length === 40, 20_000);
    const claims = (await e.store.sandbox.sends()).map((s) => s.claim);
    expect(new Set(claims).size).toBe(40);
  });
});
