/**
 * Due timers are fired one after another on the claims taken for them all at once. When firing
 * them outlasts half of those claims (provider calls that take seconds each), the rest are given
 * back, due as they were, not fired on a claim another instance may have taken meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { createLogger } from '../logger.js';
import { storeFactories } from '../store/testing.js';
import { DueTimers, type TimerHandler } from './due-timers.js';

const T = Date.parse('2026-11-23T10:00:00Z');

describe.each(storeFactories)('due timers ($name)', (factory) => {
  it('once half the lease is gone, the timers not yet fired are given back, due as they were, and fired by the next run', async () => {
    const { store, db, dispose } = await factory.open();
    try {
      const clock = new TestClock(new Date(T));
      for (let k = 0; k < 5; k++)
        await store.timers.schedule({ kind: 'journey', instanceId: `i-${k}`, timerId: `i-${k}:wait` }, T - 5_000 + k, T - 10_000);
      const fired: string[] = [];
      // each takes 20 s of a 60 s lease
      const slow: TimerHandler = async (t, complete) => {
        fired.push((t.payload as { instanceId: string }).instanceId);
        clock.advance(20_000);
        return complete(store.timers);
      };
      const quick: TimerHandler = (_t, complete) => complete(store.timers);
      const timers = new DueTimers({
        timers: store.timers,
        handlers: { journey: slow, step: quick, timeout: quick },
        lease: { ms: 60_000, owner: 'me' },
        clock,
        log: createLogger('silent'),
      });
      // 0 s and 20 s into the claims: fired; 40 s: the three left are given back
      expect(await timers.run()).toBe(2);
      expect(fired).toEqual(['i-0', 'i-1']);
      const rows = await db.db.selectFrom('timers').select(['key', 'claim_owner', 'due_at', 'fired_at']).orderBy('due_at').execute();
      expect(rows.map((r) => [r.claim_owner, Number(r.due_at), r.fired_at === null])).toEqual([
        ['me', T - 5_000, false],
        ['me', T - 4_999, false],
        [null, T - 4_998, true],
        [null, T - 4_997, true],
        [null, T - 4_996, true],
      ]);
      // a fresh run takes them on fresh claims
      expect(await timers.run()).toBe(2);
      expect(await timers.run()).toBe(1);
      expect(fired).toEqual(['i-0', 'i-1', 'i-2', 'i-3', 'i-4']);
    } finally {
      await dispose();
    }
  });
});
