import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { ReplayGuard } from './replay-guard.js';

describe.each(storeFactories)('ReplayGuard on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(() => dispose());

  it('accepts a signature once inside the window, again after it', async () => {
    const g = new ReplayGuard(store.seenSignatures, 1000);
    expect(await g.firstUse('p', 'sig-a', 0)).toBe(true);
    expect(await g.firstUse('p', 'sig-a', 999)).toBe(false);
    expect(await g.firstUse('p', 'sig-b', 999)).toBe(true);
    // the same signature under another scheme is another request
    expect(await g.firstUse('q', 'sig-a', 999)).toBe(true);
    expect(await g.firstUse('p', 'sig-a', 1000)).toBe(true);
  });

  it('remembers across restarts and across instances: what it saw is in the store', async () => {
    const before = new ReplayGuard(store.seenSignatures, 60_000);
    expect(await before.firstUse('hubspot', 'v3:captured', 10_000)).toBe(true);
    // a new process (or another instance on the same database) refuses the replay
    const after = new ReplayGuard(store.seenSignatures, 60_000);
    expect(await after.firstUse('hubspot', 'v3:captured', 20_000)).toBe(false);
    // concurrent first uses of one signature: exactly one wins
    const results = await Promise.all(Array.from({ length: 8 }, () => after.firstUse('hubspot', 'v3:raced', 30_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
