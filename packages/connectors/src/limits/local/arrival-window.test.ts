import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ArrivalWindow } from './arrival-window.js';

describe('ArrivalWindow', () => {
  it('starts the (n+max)-th request only the interval after the n-th completed, however late that was', async () => {
    const w = new ArrivalWindow({ max: 2, intervalMs: 100 });
    const starts: number[] = [];
    const t0 = performance.now();
    const request = async (latencyMs: number) => {
      const release = await w.acquire();
      starts.push(performance.now() - t0);
      await sleep(latencyMs);
      release();
      return performance.now() - t0;
    };
    // the first is slow (a cold connection): it completes at ~150 ms
    const [first] = await Promise.all([request(150), request(5), request(5), request(5)]);
    expect(starts[0]).toBeLessThan(90);
    expect(starts[1]).toBeLessThan(90);
    // the third waited for the first to complete, plus the interval; the fourth for the second
    expect(starts[2]).toBeGreaterThanOrEqual((first as number) + 100 - 2);
    expect(starts[3]).toBeGreaterThanOrEqual(100);
  });

  it('a new limit applies to the next requests', async () => {
    const w = new ArrivalWindow({ max: 1, intervalMs: 1000 });
    w.limit = { max: 3, intervalMs: 1000 };
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) (await w.acquire())();
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
