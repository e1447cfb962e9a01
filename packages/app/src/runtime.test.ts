import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from './clock.js';
import { EVENTS_PER_COMMIT } from './inbox/inbox-processor.js';
import { createLogger } from './logger.js';
import { createRuntime } from './runtime.js';
import { storeFactories } from './store/testing.js';

const rs = loadRuleset(DEFAULT_RULESET);

for (const f of storeFactories) {
  describe(`a round's events (${f.name})`, () => {
    let dispose: (() => Promise<void>) | null = null;
    afterEach(async () => {
      await dispose?.();
      dispose = null;
    });

    /** A runtime over `backlog` ready events (a contact each; no provider: nothing is due to send). */
    async function withBacklog(backlog: number, eventsSliceMs: number) {
      const opened = await f.open();
      dispose = opened.dispose;
      const { store } = opened;
      await store.inbox.acceptMany(
        Array.from({ length: backlog }, (_, i) => ({
          source: 'api',
          eventId: `e-${i}`,
          type: 'contact.updated',
          payload: { id: `e-${i}`, type: 'contact.updated', occurredAt: new Date().toISOString(), contact: { id: `c-${i}` } },
          lane: `c-${i}`,
        })),
        Date.now(),
      );
      const runtime = createRuntime({
        store,
        ruleset: () => rs,
        providers: new Map(),
        clock: systemClock,
        log: createLogger('silent'),
        lease: { ms: 30_000, owner: 'test' },
        concurrency: 2,
        eventsSliceMs,
      });
      return { runtime, store };
    }

    it('a side that took a full unit takes the next at once, until fewer than a unit are left', async () => {
      const backlog = EVENTS_PER_COMMIT * 5 + 7;
      const { runtime, store } = await withBacklog(backlog, 60_000);
      expect(await runtime.round()).toBeGreaterThanOrEqual(backlog);
      expect(await store.inbox.backlog()).toBe(0);
    });

    it('with no time for more, each side takes one unit a round (timers and chores get their turn)', async () => {
      const backlog = EVENTS_PER_COMMIT * 5 + 7;
      const { runtime, store } = await withBacklog(backlog, 0);
      await runtime.round();
      // SQLite's one writer works one side; PostgreSQL two
      const sides = f.name === 'postgres' ? 2 : 1;
      expect(await store.inbox.backlog()).toBe(backlog - sides * EVENTS_PER_COMMIT);
    });
  });
}
