import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { InboxWriter } from './inbox-writer.js';

const ev = (id: string) => ({ source: 'api', eventId: id, type: 'ticket.opened', payload: { id } });

describe.each(storeFactories)('InboxWriter on $name', (factory) => {
  let dispose: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await dispose?.();
    dispose = null;
  });

  it('stores concurrent requests together and tells each which of its events were new', async () => {
    const opened = await factory.open();
    dispose = opened.dispose;
    const store: Store = opened.store;
    const writer = new InboxWriter({ acceptInbox: (requests) => store.acceptChecked(requests) });
    await writer.accept([ev('old')], 1);
    const now = Date.now();
    // 30 requests at once: "shared" in three of them, "old" already stored, "twice" twice in one request
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const events = [ev(`e-${i}`)];
        if (i % 10 === 3) events.push(ev('shared'));
        if (i === 7) events.push(ev('old'));
        if (i === 11) events.push(ev('twice'), ev('twice'));
        return writer.accept(events, now);
      }),
    );
    const shared = results.filter((_, i) => i % 10 === 3);
    expect(shared.reduce((n, r) => n + r.accepted, 0)).toBe(3 + 1); // 3 own events + "shared" once
    expect(shared.reduce((n, r) => n + r.duplicates, 0)).toBe(2);
    expect(results[7]).toEqual({ accepted: 1, duplicates: 1, missing: [] });
    expect(results[11]).toEqual({ accepted: 2, duplicates: 1, missing: [] });
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(30 + 1 + 1);
    expect(await store.inbox.backlog()).toBe(1 + 30 + 1 + 1);
  });
});
