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
    expect(results[7]).toEqual({ accepted: 1, duplicates: 1 });
    expect(results[11]).toEqual({ accepted: 2, duplicates: 1 });
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(30 + 1 + 1);
    expect(await store.inbox.backlog()).toBe(1 + 30 + 1 + 1);
  });

  it('stores each request naming contacts only if they are all stored, whatever it was written with', async () => {
    const opened = await factory.open();
    dispose = opened.dispose;
    const store: Store = opened.store;
    const writer = new InboxWriter({ acceptInbox: (requests) => store.acceptChecked(requests) });
    const known = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254700000123' }] }, 1)).contact.id;
    const now = Date.now();
    // submitted in one tick: one write (the group commit), each request answered on its own
    const results = await Promise.all([
      writer.acceptNaming([ev('n-1')], now, [known]),
      writer.acceptNaming([ev('n-2'), ev('n-3')], now, [known, 'nobody']),
      writer.accept([ev('n-2')], now),
      writer.acceptNaming([ev('n-4'), ev('n-1')], now, [known]),
    ]);
    expect(results).toEqual([
      { accepted: 1, duplicates: 0, missing: [] },
      { accepted: 0, duplicates: 0, missing: ['nobody'] },
      { accepted: 1, duplicates: 0 },
      { accepted: 1, duplicates: 1, missing: [] },
    ]);
    expect(await store.inbox.backlog()).toBe(3);
  });
});
