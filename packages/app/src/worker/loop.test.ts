import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { createLogger } from '../logger.js';
import { RulesHolder } from '../rules/rules-holder.js';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { createSystem, type System } from '../system.js';
import { Worker } from './loop.js';

let opened: { system: System; dispose: () => Promise<void> } | null = null;
afterEach(async () => {
  await opened?.system.close().catch(() => undefined);
  await opened?.dispose();
  opened = null;
});

/** A worker on this thread with `n` events waiting in the inbox for contacts that exist. */
async function withBacklog(n: number): Promise<{ worker: Worker; store: Store }> {
  const sqlite = storeFactories.find((f) => f.name === 'sqlite');
  if (sqlite === undefined) throw new Error('no sqlite factory');
  const { store, dispose } = await sqlite.open();
  const system = createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: systemClock,
    log: createLogger('silent'),
    apiKeys: [],
    sandboxSecret: 'worker-test-sandbox-secret-0123456789',
  });
  opened = { system, dispose };
  const contact = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254733300001' }] }, Date.now());
  await store.inbox.acceptMany(
    Array.from({ length: n }, (_, i) => ({
      source: 'api',
      eventId: `t-${i}`,
      type: 'ticket.opened',
      payload: {
        id: `t-${i}`,
        source: 'api',
        type: 'ticket.opened',
        occurredAt: new Date().toISOString(),
        contact: { id: contact.contact.id },
      },
    })),
    Date.now(),
  );
  const worker = system.worker as Worker;
  expect(worker).toBeInstanceOf(Worker);
  return { worker, store };
}

describe('Worker.quiet (how receipts give way to events)', () => {
  it('resolves at once for a worker that is not running', async () => {
    const { worker, store } = await withBacklog(5);
    await worker.quiet(60_000);
    expect(await store.inbox.hasWork(Date.now())).toBe(true);
  });

  it('resolves once the worker has run out of events', async () => {
    const { worker, store } = await withBacklog(300);
    worker.start();
    await worker.quiet(60_000);
    expect(await store.inbox.hasWork(Date.now())).toBe(false);
  });

  it('resolves after its time limit while events are still waiting', async () => {
    const { worker, store } = await withBacklog(3_000);
    worker.start();
    const t0 = Date.now();
    await worker.quiet(30);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await store.inbox.hasWork(Date.now())).toBe(true);
    await worker.stop();
  });
});
