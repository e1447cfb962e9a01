import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type Limiters, retune } from '../limiters.js';

/**
 * What every Limiters implementation promises. `peers` gives two factories that must share their
 * limits: two instances on one Redis, or the one factory of a process (its own peer).
 */
export function limitersContract(name: string, peers: () => Promise<{ a: Limiters; b: Limiters; close(): Promise<void> }>): void {
  describe(`Limiters contract: ${name}`, () => {
    let opened: { close(): Promise<void> } | null = null;
    const open = async () => {
      const p = await peers();
      opened = p;
      return p;
    };
    afterEach(async () => {
      await opened?.close();
      opened = null;
    });

    it('a limit holds across peers: maxConcurrent 1 runs one job at a time among both', async () => {
      const { a, b } = await open();
      const limiters = [a.limiter('crm:1', { maxConcurrent: 1 }), b.limiter('crm:1', { maxConcurrent: 1 })];
      let active = 0;
      let most = 0;
      const job = async () => {
        active++;
        most = Math.max(most, active);
        await sleep(15);
        active--;
        return 1;
      };
      const done = await Promise.all(Array.from({ length: 6 }, (_, i) => (limiters[i % 2] as (typeof limiters)[0]).schedule(job)));
      expect(done).toHaveLength(6);
      expect(most).toBe(1);
    });

    it('a reservoir is one for all peers: what one takes the other cannot', async () => {
      const { a, b } = await open();
      const la = a.limiter('sender:sms', { reservoir: 3 });
      const lb = b.limiter('sender:sms', { reservoir: 3 });
      let ran = 0;
      const jobs = [la, lb, la, lb].map((l) => l.schedule(async () => ++ran));
      for (let i = 0; ran < 3 && i < 500; i++) await sleep(10);
      expect(ran).toBe(3);
      expect(await la.currentReservoir()).toBe(0);
      expect(await lb.currentReservoir()).toBe(0);
      await lb.incrementReservoir(1);
      await Promise.all(jobs);
      expect(ran).toBe(4);
    });

    it('different ids are different limits', async () => {
      const { a, b } = await open();
      let release: () => void = () => undefined;
      const held = a.limiter('crm:held', { maxConcurrent: 1 }).schedule(() => new Promise<void>((r) => (release = r)));
      // the other resource runs while the first one's only slot is taken
      await expect(b.limiter('crm:other', { maxConcurrent: 1 }).schedule(async () => 'ran')).resolves.toBe('ran');
      await sleep(5);
      release();
      await held;
    });

    it('settings changed on one peer apply on the other', async () => {
      const { a, b } = await open();
      const la = a.limiter('crm:tuned', { maxConcurrent: 1 });
      const lb = b.limiter('crm:tuned', { maxConcurrent: 1 });
      await la.ready();
      await lb.ready();
      await retune(la, { maxConcurrent: 2 });
      // two jobs of b that each wait for the other to start finish only if both may run at once
      let started = 0;
      const together = () =>
        lb.schedule(async () => {
          started++;
          for (let i = 0; started < 2 && i < 500; i++) await sleep(10);
          return started;
        });
      expect(await Promise.all([together(), together()])).toEqual([2, 2]);
    });

    it('a window holds at most max arrivals in any interval across peers, whatever the latency', async () => {
      const { a, b } = await open();
      const limit = { max: 2, intervalMs: 300 };
      const windows = [a.window('crm:window', limit), b.window('crm:window', limit)];
      const arrivals: number[] = [];
      const request = async (i: number) => {
        const release = await (windows[i % 2] as (typeof windows)[0]).acquire();
        arrivals.push(performance.now());
        // the first is slow, as a cold connection is
        await sleep(i === 0 ? 120 : 5);
        release();
      };
      await Promise.all(Array.from({ length: 6 }, (_, i) => request(i)));
      expect(arrivals).toHaveLength(6);
      for (const at of arrivals) {
        const within = arrivals.filter((x) => x <= at && x > at - limit.intervalMs);
        expect(within.length).toBeLessThanOrEqual(limit.max);
      }
    });
  });
}
