import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from './replay-guard.js';

describe('ReplayGuard', () => {
  it('accepts a signature once inside the window, again after it', async () => {
    const g = new ReplayGuard(1000);
    expect(await g.firstUse('sig-a', 0)).toBe(true);
    expect(await g.firstUse('sig-a', 999)).toBe(false);
    expect(await g.firstUse('sig-b', 999)).toBe(true);
    expect(await g.firstUse('sig-a', 1000)).toBe(true);
  });
  it('shares what it has seen across instances through Redis', async () => {
    const a = new ReplayGuard(60_000, 'redis://127.0.0.1:6379');
    const b = new ReplayGuard(60_000, 'redis://127.0.0.1:6379');
    const sig = `sig-${randomUUID()}`;
    expect(await a.firstUse(sig, Date.now())).toBe(true);
    expect(await b.firstUse(sig, Date.now())).toBe(false);
    await a.close();
    await b.close();
  });
});
