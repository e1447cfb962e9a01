import type { JourneyInstance } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenDatabase } from '../db/connection.js';
import { inboxRow } from '../inbox/inbox-repository.js';
import type { Store } from './store.js';
import { newMessage, storeFactories } from './testing.js';

const T = Date.parse('2026-11-23T07:00:00Z');

describe.each(storeFactories)('Store contract: $name', (factory) => {
  let store: Store;
  let db: OpenDatabase['db'];
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    let open: OpenDatabase;
    ({ store, db: open, dispose } = await factory.open());
    db = open.db;
  });
  afterAll(async () => dispose());

  describe('contacts and identity', () => {
    it('creates a contact, normalises identities, finds it by any of them', async () => {
      const r = await store.contacts.upsert(
        {
          identities: [
            { kind: 'phone', value: '+254 700 000 001' },
            { kind: 'email', value: 'Amina@Example.COM' },
          ],
          market: 'KE',
        },
        T,
      );
      expect(r.created).toBe(true);
      expect(r.contact.identities).toEqual([
        { kind: 'email', value: 'amina@example.com' },
        { kind: 'phone', value: '+254700000001' },
      ]);
      expect((await store.contacts.findByIdentity('email', 'AMINA@example.com'))?.id).toBe(r.contact.id);
      expect((await store.contacts.findByIdentity('phone', '+254700000001'))?.market).toBe('KE');
      const again = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254700000001' }], locale: 'sw-KE' }, T + 1);
      expect(again.created).toBe(false);
      expect(again.contact.id).toBe(r.contact.id);
      expect(again.contact.locale).toBe('sw-KE');
      expect(again.contact.market).toBe('KE');
    });

    it('merges two records that turn out to share an identity', async () => {
      const a = await store.contacts.upsert({ identities: [{ kind: 'hubspot', value: 'hs-1' }], attributes: { plan: 'gold' } }, T);
      const b = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550100001' }], tags: ['vip'] }, T + 1);
      await store.consent.append(
        b.contact.id,
        { channel: 'sms', purpose: 'marketing', status: 'granted', source: 'api', at: '2026-01-01T00:00:00Z' },
        T,
      );
      const m = await store.contacts.upsert(
        {
          identities: [
            { kind: 'hubspot', value: 'hs-1' },
            { kind: 'phone', value: '+15550100001' },
          ],
        },
        T + 2,
      );
      expect(m.contact.id).toBe(a.contact.id);
      expect(m.merged).toEqual([b.contact.id]);
      expect(m.contact.tags).toEqual(['vip']);
      expect(m.contact.attributes).toEqual({ plan: 'gold' });
      expect((await store.contacts.get(b.contact.id))?.id).toBe(a.contact.id);
      expect(await store.consent.of(a.contact.id)).toHaveLength(1);
    });

    it('records a conflict instead of overwriting: the same phone on two CRM contacts with different emails', async () => {
      const first = await store.contacts.upsert(
        {
          identities: [
            { kind: 'hubspot', value: 'hs-10' },
            { kind: 'phone', value: '+15550100010' },
            { kind: 'email', value: 'one@example.com' },
          ],
        },
        T,
      );
      const second = await store.contacts.upsert(
        {
          identities: [
            { kind: 'hubspot', value: 'hs-11' },
            { kind: 'phone', value: '+15550100010' },
            { kind: 'email', value: 'two@example.com' },
          ],
        },
        T + 1,
      );
      expect(second.contact.id).not.toBe(first.contact.id);
      expect(second.conflicts).toEqual([{ kind: 'phone', value: '+15550100010', otherContactId: first.contact.id }]);
      expect((await store.contacts.findByIdentity('phone', '+15550100010'))?.id).toBe(first.contact.id);
      const seen = await store.contacts.conflicts(first.contact.id);
      expect(seen[0]).toMatchObject({ kind: 'phone', otherContactId: second.contact.id });
    });

    it("fields are as of the word that said them: an older word leaves them, identities alone say nothing, a merge keeps the survivor's time", async () => {
      const phone = { kind: 'phone', value: '+254700000071' } as const;
      const c = await store.contacts.upsert({ identities: [phone], timezone: 'Africa/Lagos' }, T + 100, T + 50);
      // older: its identities are taken, its fields not
      await store.contacts.upsert(
        { identities: [phone, { kind: 'email', value: 'old@example.com' }], timezone: 'Africa/Nairobi' },
        T + 200,
        T + 10,
      );
      expect((await store.contacts.findByIdentity('email', 'old@example.com'))?.timezone).toBe('Africa/Lagos');
      // identities alone, now: the fields' time stays at T + 50, so a word from T + 60 is taken
      await store.contacts.upsert({ identities: [phone] }, T + 300);
      await store.contacts.upsert({ identities: [phone], timezone: 'Africa/Kampala' }, T + 400, T + 60);
      expect((await store.contacts.get(c.contact.id))?.timezone).toBe('Africa/Kampala');
      // a word from the future counts as now
      await store.contacts.upsert({ identities: [phone], timezone: 'Africa/Accra' }, T + 500, T + 10_000);
      await store.contacts.upsert({ identities: [phone], timezone: 'Africa/Cairo' }, T + 501);
      expect((await store.contacts.get(c.contact.id))?.timezone).toBe('Africa/Cairo');
      // a newer record merged into this older one: the survivor's fields and their time stay
      const other = await store.contacts.upsert({ identities: [{ kind: 'hubspot', value: 'hs-71' }], timezone: 'Africa/Tunis' }, T + 600);
      const m = await store.contacts.upsert({ identities: [phone, { kind: 'hubspot', value: 'hs-71' }] }, T + 700);
      expect(m.merged).toEqual([other.contact.id]);
      expect(m.contact.timezone).toBe('Africa/Cairo');
      await store.contacts.upsert({ identities: [phone], timezone: 'Africa/Algiers' }, T + 800, T + 550);
      expect((await store.contacts.get(c.contact.id))?.timezone).toBe('Africa/Algiers');
    });

    it('rejects malformed identities', async () => {
      await expect(store.contacts.upsert({ identities: [{ kind: 'phone', value: '0700 123' }] }, T)).rejects.toThrow(/E\.164/);
    });
  });

  describe('inbox', () => {
    it('is unique on (source, event id) and hands rows out once per claim', async () => {
      const a = await store.inbox.accept({ source: 'api', eventId: 'e-1', type: 'invoice.overdue', payload: { n: 1 } }, T);
      const dup = await store.inbox.accept({ source: 'api', eventId: 'e-1', type: 'invoice.overdue', payload: { n: 2 } }, T);
      expect(dup).toEqual({ id: a.id, duplicate: true });
      const batch = await store.inbox.acceptMany(
        [
          { source: 'hubspot', eventId: 'h-1', type: 'ticket.opened', payload: {} },
          { source: 'hubspot', eventId: 'h-2', type: 'ticket.opened', payload: {} },
          { source: 'api', eventId: 'e-1', type: 'invoice.overdue', payload: {} },
        ],
        T + 1,
      );
      expect(batch).toEqual({ accepted: 2, duplicates: 1 });
      expect(await store.inbox.hasWork(T + 2)).toBe(true);
      await expect(store.inbox.take(T + 2, 10)).rejects.toThrow(/inside a transaction/);
      // taken and finished in one transaction; a transaction that fails gives its rows back
      await expect(
        store.transaction(async (tx) => {
          const rows = await tx.inbox.take(T + 2, 10);
          expect(rows.map((r) => r.eventId)).toEqual(['e-1', 'h-1', 'h-2']);
          for (const r of rows) await tx.inbox.finish(r.id, T + 3);
          throw new Error('crash before commit');
        }),
      ).rejects.toThrow('crash before commit');
      expect(await store.inbox.backlog()).toBe(3);
      const taken = await store.transaction(async (tx) => {
        const rows = await tx.inbox.take(T + 4, 2);
        await tx.inbox.finish(rows[0]?.id as string, T + 4);
        // a failed try is counted and held back until its retry time
        await tx.inbox.failed(rows[1]?.id as string, 'boom', { retryAt: T + 50_000 });
        return rows;
      });
      expect(taken.map((r) => [r.eventId, r.attempts])).toEqual([
        ['e-1', 0],
        ['h-1', 0],
      ]);
      expect(await store.inbox.backlog()).toBe(2);
      expect((await store.transaction((tx) => tx.inbox.take(T + 45_000, 10))).map((r) => r.eventId)).toEqual(['h-2']);
      const later = await store.transaction((tx) => tx.inbox.take(T + 50_001, 10));
      expect(later.map((r) => [r.eventId, r.attempts])).toEqual([
        ['h-1', 1],
        ['h-2', 0],
      ]);
      // given up on: it leaves the backlog with its error; finishing it after changes nothing
      await store.inbox.failed(later[0]?.id as string, 'gave up', { deadAt: T + 50_002 });
      await store.inbox.finish(later[0]?.id as string, T + 50_003);
      await store.inbox.finish(later[1]?.id as string, T + 50_002);
      expect(await store.inbox.backlog()).toBe(0);
      expect(await store.inbox.hasWork(T + 60_000)).toBe(false);
      const row = await db
        .selectFrom('inbox')
        .select(['processed_at', 'error'])
        .where('id', '=', later[0]?.id as string)
        .executeTakeFirst();
      expect(row).toEqual({ processed_at: T + 50_002, error: 'gave up' });
    });

    it('stores a request only if every contact it names is stored, each request of a write on its own', async () => {
      const known = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254700000777' }] }, T)).contact.id;
      // a small write (PostgreSQL: one statement) and a large one (the look-up, then the inserts)
      for (const [source, filler] of [
        ['checked', 0],
        ['checked-large', 40],
      ] as const) {
        await store.inbox.accept({ source, eventId: 'before', type: 'invoice.overdue', payload: {} }, T);
        const row = (eventId: string) => inboxRow({ source, eventId, type: 'invoice.overdue', payload: { eventId } }, T + 1);
        const results = await store.acceptChecked([
          // known contact: both rows in, one of them a duplicate of an earlier event
          { rows: [row('a-1'), row('before')], contacts: [known] },
          // one unknown contact among known ones: nothing of this request goes in
          { rows: [row('b-1'), row('b-2')], contacts: [known, 'no-such-contact', 'no-such-contact'] },
          // the same event as the refused request's: this one goes in (the refused one took nothing)
          { rows: [row('b-1'), row('a-1')], contacts: [] },
          ...(filler > 0
            ? [
                { rows: Array.from({ length: filler }, (_, i) => row(`f-${i}`)), contacts: [known] },
                { rows: [], contacts: ['gone-too'] },
              ]
            : []),
        ]);
        expect(results.map((r) => ({ inserted: r.inserted.size, missing: r.missing }))).toEqual([
          { inserted: 1, missing: [] },
          { inserted: 0, missing: ['no-such-contact'] },
          { inserted: 1, missing: [] },
          ...(filler > 0
            ? [
                { inserted: filler, missing: [] },
                { inserted: 0, missing: ['gone-too'] },
              ]
            : []),
        ]);
        const stored = await db
          .selectFrom('inbox')
          .select('event_id')
          .where('source', '=', source)
          .where('event_id', 'not like', 'f-%')
          .orderBy('event_id')
          .execute();
        expect(stored.map((r) => r.event_id)).toEqual(['a-1', 'b-1', 'before']);
      }
      // the rows are stored as given: payload text, lane, trace, counters
      const given = inboxRow({ source: 'checked', eventId: 'c-1', type: 'invoice.overdue', payload: {} }, T + 1);
      const [c] = await store.acceptChecked([
        { rows: [{ ...given, lane: 'c:x', trace: '00-abc-def-01', payload: '{"n":"\\u00e9 ü 🙂"}' }], contacts: [known] },
      ]);
      expect(c?.inserted).toEqual(new Set([given.id]));
      const back = await db.selectFrom('inbox').selectAll().where('id', '=', given.id).executeTakeFirstOrThrow();
      expect({ ...back, received_at: Number(back.received_at) }).toEqual({
        ...given,
        lane: 'c:x',
        trace: '00-abc-def-01',
        payload: '{"n":"\\u00e9 ü 🙂"}',
      });
      expect(await store.acceptChecked([])).toEqual([]);
      // out of the way of the tests after (they take every ready event)
      await db.deleteFrom('inbox').where('source', 'in', ['checked', 'checked-large']).execute();
    });

    it("answers a worker round's look as its polls answer, in one statement", async () => {
      const at = T + 100_000;
      const ids = [];
      for (const k of [1, 2, 3])
        ids.push((await store.inbox.accept({ source: 'look', eventId: `r-${k}`, type: 'invoice.overdue', payload: {} }, at)).id);
      ids.push((await store.inbox.accept({ source: 'look', eventId: 'raw-1', type: 'raw', payload: {}, stage: 'raw' }, at)).id);
      const stalledBy = async (now: number) =>
        (
          await db
            .selectFrom('attempts')
            .select('id')
            .where('lease_expires_at', 'is not', null)
            .where('lease_expires_at', '<', now)
            .execute()
        ).length > 0;
      for (const now of [at + 1, at + 10_000_000]) {
        const look = await store.workAtHand(now, 2);
        expect(look).toEqual({
          ready: 2, // three ready, counted up to the cap
          raw: await store.inbox.hasWork(now, 'raw'),
          nextDue: await store.timers.nextDue(),
          stalled: await stalledBy(now),
        });
        expect(look.raw).toBe(true);
      }
      expect((await store.workAtHand(at + 1, 100)).ready).toBe(3);
      // held back (a claim not yet run out) is not ready
      await store.transaction(async (tx) => {
        const [first] = await tx.inbox.take(at + 1, 1);
        await tx.inbox.failed(first?.id as string, 'later', { retryAt: at + 5_000 });
      });
      expect((await store.workAtHand(at + 2, 100)).ready).toBe(2);
      expect((await store.workAtHand(at + 5_001, 100)).ready).toBe(3);
      for (const id of ids) await store.inbox.finish(id, at + 6_000);
      expect(await store.workAtHand(at + 6_001, 100)).toMatchObject({ ready: 0, raw: false });
    });

    it('stores a large batch whole (several statements, one transaction), duplicates counted across them', async () => {
      const ev = (id: string) => ({ source: 'bulk', eventId: id, type: 'invoice.overdue', payload: { id } });
      await store.inbox.acceptMany([ev('b-5'), ev('b-50')], T + 200_000);
      // 70 rows: b-5 and b-50 are already stored, b-3 comes twice (rows 3 and 40 land in different statements)
      const rows = Array.from({ length: 69 }, (_, i) => ev(`b-${i}`));
      rows.splice(40, 0, ev('b-3'));
      expect(await store.inbox.acceptMany(rows, T + 200_001)).toEqual({ accepted: 67, duplicates: 3 });
      const stored = await db.selectFrom('inbox').select('event_id').where('source', '=', 'bulk').execute();
      expect(stored).toHaveLength(69);
      // an invalid row takes the whole batch back
      const bad = Array.from({ length: 40 }, (_, i) => ev(`c-${i}`));
      (bad[35] as { type: unknown }).type = null;
      await expect(store.inbox.acceptMany(bad, T + 200_002)).rejects.toThrow();
      expect(await db.selectFrom('inbox').select('event_id').where('event_id', 'like', 'c-%').execute()).toEqual([]);
      // out of the way of the tests after this one
      await db.updateTable('inbox').set({ processed_at: T }).where('source', '=', 'bulk').execute();
    });

    // SQLite has one writer at a time (its transactions cannot overlap); PostgreSQL workers can
    if (factory.name === 'postgres')
      it('hands a row to one transaction at a time (PostgreSQL: several workers)', async () => {
        await store.inbox.acceptMany(
          [
            { source: 'api', eventId: 'pg-1', type: 't', payload: {} },
            { source: 'api', eventId: 'pg-2', type: 't', payload: {} },
          ],
          T + 100_000,
        );
        let release: () => void = () => undefined;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let firstTook: string[] = [];
        const first = store.transaction(async (tx) => {
          firstTook = (await tx.inbox.take(T + 100_001, 1)).map((r) => r.eventId);
          await held;
        });
        while (firstTook.length === 0) await new Promise((r) => setTimeout(r, 5));
        const second = await store.transaction((tx) => tx.inbox.take(T + 100_001, 10));
        release();
        await first;
        expect(firstTook).toEqual(['pg-1']);
        expect(second.map((r) => r.eventId)).toEqual(['pg-2']);
      });

    if (factory.name === 'postgres')
      it("one contact's events go to one worker at a time, in the order received (PostgreSQL lanes)", async () => {
        const at = T + 200_000;
        // what earlier tests left pending is finished first
        await store.transaction(async (tx) => {
          for (const r of await tx.inbox.take(at, 1000)) await tx.inbox.finish(r.id, at);
        });
        const ev = (eventId: string, contact: Record<string, unknown>) => ({
          source: 'api',
          eventId,
          type: 'invoice.overdue',
          payload: { contact },
        });
        await store.inbox.acceptMany(
          [
            ev('lane-1', { identities: [{ kind: 'phone', value: '+254 700 000 111' }] }),
            ev('lane-2', { id: 'other-contact' }),
            ev('lane-3', { identities: [{ kind: 'phone', value: '+254700000111' }] }),
            ev('lane-4', { id: 'other-contact' }),
          ],
          at,
        );
        let release: () => void = () => undefined;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let firstTook: string[] = [];
        const first = store.transaction(async (tx) => {
          firstTook = (await tx.inbox.take(at + 1, 1)).map((r) => r.eventId);
          await held;
          for (const r of await tx.inbox.take(at + 1, 10)) if (r.eventId === 'lane-1') await tx.inbox.finish(r.id, at + 1);
        });
        while (firstTook.length === 0) await new Promise((r) => setTimeout(r, 5));
        // the second worker gets the other contact's events, never lane-3 while lane-1 is being applied
        const second = await store.transaction(async (tx) => {
          const rows = await tx.inbox.take(at + 1, 10);
          for (const r of rows) await tx.inbox.finish(r.id, at + 1);
          return rows.map((r) => r.eventId);
        });
        release();
        await first;
        expect(firstTook).toEqual(['lane-1']);
        expect(second).toEqual(['lane-2', 'lane-4']);
        // once the first worker committed, the contact's next event is free to take
        const third = await store.transaction(async (tx) => (await tx.inbox.take(at + 1, 10)).map((r) => r.eventId));
        expect(third).toEqual(['lane-3']);
      });
  });

  describe('timers', () => {
    it('are scheduled once per key, claimed atomically, fire once, and are retaken after a crash', async () => {
      const k1 = { kind: 'step', messageId: 'm-1', step: 0 } as const;
      expect(await store.timers.schedule(k1, T + 1000, T)).toMatchObject({
        key: 'm-1:step:0',
        dueAt: T + 1000,
        payload: { messageId: 'm-1', step: 0 },
      });
      expect(await store.timers.schedule(k1, T + 5000, T)).toBeNull();
      await store.timers.schedule({ kind: 'step', messageId: 'm-2', step: 0 }, T + 2000, T);
      await store.timers.schedule({ kind: 'timeout', messageId: 'm-1', step: 0 }, T + 9000, T);
      expect(await store.timers.claimDue('w1', T + 500, 10_000, 10)).toEqual([]);
      const got = await store.timers.claimDue('w1', T + 2500, 10_000, 10);
      expect(got.map((t) => t.key)).toEqual(['m-1:step:0', 'm-2:step:0']);
      expect(got[0]?.payload).toEqual({ messageId: 'm-1', step: 0 });
      expect(await store.timers.claimDue('w2', T + 2600, 10_000, 10)).toEqual([]);
      expect(await store.timers.complete(got[0]?.id as string, 'w1', T + 2700)).toBe(true);
      expect(await store.timers.complete(got[0]?.id as string, 'w1', T + 2800)).toBe(false);
      // w1 crashed holding m-2's; after the lease it is retaken, and w1's late completion is refused
      const retaken = await store.timers.claimDue('w2', T + 20_000, 10_000, 10);
      expect(retaken.map((t) => t.key)).toEqual(['m-2:step:0', 'm-1:timeout:0']);
      expect(await store.timers.complete(retaken[0]?.id as string, 'w1', T + 20_001)).toBe(false);
      expect(await store.timers.complete(retaken[0]?.id as string, 'w2', T + 20_002)).toBe(true);
      expect(await store.timers.cancelFor('m-1', T + 20_003)).toBe(1);
      expect(await store.timers.complete(retaken[1]?.id as string, 'w2', T + 20_004)).toBe(false);
      expect(await store.timers.pending()).toEqual([]);
    });

    it('an instance takes back its own claims at once when it restarts', async () => {
      await store.timers.schedule({ kind: 'step', messageId: 'm-r', step: 0 }, T, T);
      expect((await store.timers.claimDue('dead-instance', T + 1, 60_000, 10)).map((t) => t.key)).toEqual(['m-r:step:0']);
      expect(await store.timers.claimDue('other', T + 2, 60_000, 10)).toEqual([]);
      expect(await store.timers.releaseClaimsOf('someone-else')).toBe(0);
      expect(await store.timers.releaseClaimsOf('dead-instance')).toBe(1);
      const again = await store.timers.claimDue('dead-instance', T + 3, 60_000, 10);
      expect(again.map((t) => t.key)).toEqual(['m-r:step:0']);
      expect(await store.timers.complete(again[0]?.id as string, 'dead-instance', T + 4)).toBe(true);
    });

    it('transactions roll back whole; savepoints take back only what came after them', async () => {
      const step = (messageId: string) => ({ kind: 'step', messageId, step: 0 }) as const;
      await expect(
        store.transaction(async (s) => {
          await s.timers.schedule(step('rolled-back'), T, T);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await store.timers.pending()).map((x) => x.ref)).not.toContain('rolled-back');
      // a savepoint takes back only what came after it
      await store.transaction(async (s) => {
        await s.timers.schedule(step('kept'), T, T);
        await expect(
          s.savepoint('one', async () => {
            await s.timers.schedule(step('undone'), T, T);
            throw new Error('taken back');
          }),
        ).rejects.toThrow('taken back');
        await s.savepoint('two', () => s.timers.schedule(step('also-kept'), T, T));
      });
      const refs = (await store.timers.pending()).map((x) => x.ref);
      expect(refs).toEqual(expect.arrayContaining(['kept', 'also-kept']));
      expect(refs).not.toContain('undone');
    });

    it('concurrent claimers never get the same timer', async () => {
      for (let i = 0; i < 60; i++) await store.timers.schedule({ kind: 'step', messageId: `c-${i}`, step: 0 }, T, T);
      const claims = await Promise.all(Array.from({ length: 6 }, (_, w) => store.timers.claimDue(`cw${w}`, T + 1, 60_000, 15)));
      const keys = claims
        .flat()
        .map((t) => t.key)
        .filter((k) => k.startsWith('c-'));
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.length).toBe(60);
    });
  });

  describe('parked receipts', () => {
    it('keep why a failure was reported (one by one and in bulk), and come back in the order they apply', async () => {
      await store.receipts.park(
        'twilio',
        { providerMessageId: 'SM-park-1', status: 'failed', at: '2026-11-23T07:01:00Z', error: 'twilio 30003' },
        T,
      );
      await store.receipts.parkMany(
        'twilio',
        [
          {
            providerMessageId: 'SM-park-2',
            status: 'undelivered',
            at: '2026-11-23T07:02:00Z',
            error: 'twilio 30005: unknown or inactive handset',
          },
          { providerMessageId: 'SM-park-2', status: 'delivered', at: '2026-11-23T07:01:30Z' },
        ],
        T,
      );
      const taken = await store.receipts.takeParkedMany('twilio', ['SM-park-1', 'SM-park-2']);
      expect(taken.get('SM-park-1')).toEqual([
        { providerMessageId: 'SM-park-1', status: 'failed', at: '2026-11-23T07:01:00Z', error: 'twilio 30003' },
      ]);
      expect(taken.get('SM-park-2')).toEqual([
        { providerMessageId: 'SM-park-2', status: 'delivered', at: '2026-11-23T07:01:30Z' },
        {
          providerMessageId: 'SM-park-2',
          status: 'undelivered',
          at: '2026-11-23T07:02:00Z',
          error: 'twilio 30005: unknown or inactive handset',
        },
      ]);
      expect(await store.receipts.takeParked('twilio', 'SM-park-1')).toEqual([]);
    });
  });

  describe('messages and attempts', () => {
    it('dedupes on the idempotency key', async () => {
      expect((await store.messages.create(newMessage('m-a', 'c-1', 'idem-1'), T)).created).toBe(true);
      const again = await store.messages.create(newMessage('m-b', 'c-1', 'idem-1'), T + 1);
      expect(again).toMatchObject({ created: false, message: { id: 'm-a' } });
    });
    it('moves status only from the expected states and claims each (message, step) once', async () => {
      expect(await store.messages.transition('m-a', ['queued'], 'sent', T + 2, { channel: 'sms', cost: 0.01 })).toBe(true);
      expect(await store.messages.transition('m-a', ['queued'], 'cancelled', T + 3)).toBe(false);
      expect((await store.messages.get('m-a'))?.cost).toBeCloseTo(0.01);
      const claims = await Promise.all(
        Array.from({ length: 5 }, () => store.attempts.claim({ messageId: 'm-a', step: 1, channel: 'sms', provider: 'sandbox' }, T)),
      );
      expect(claims.filter((c) => c !== null)).toEqual(['m-a:1']);
      await store.attempts.update('m-a:1', { status: 'sent', providerMessageId: 'p-1', cost: 0.01 }, T + 4);
      expect((await store.attempts.byProviderId('sandbox', 'p-1'))?.claim).toBe('m-a:1');
    });
    it('a leased attempt still only claimed when its lease ends is handed out once; any update ends the lease', async () => {
      const claim = (id: string, lease: number | null) =>
        store.attempts.claim(
          { messageId: id, step: 0, channel: 'sms', provider: 'sandbox' },
          T,
          lease === null ? null : { until: lease, owner: 'w' },
        );
      expect(await claim('m-l1', T + 1000)).toBe('m-l1:0');
      expect(await claim('m-l2', T + 1000)).toBe('m-l2:0');
      expect(await claim('m-l3', null)).toBe('m-l3:0'); // a timer stands behind this one
      expect(await store.attempts.takeStalled(T + 1000, { ms: 5000, owner: 'w' }, 10)).toEqual([]);
      // m-l2 was sent in time: its lease ended with the update
      await store.attempts.update('m-l2:0', { status: 'sent', providerMessageId: 'p-l2', cost: 0.01 }, T + 500, ['claimed']);
      const [a, b] = await Promise.all([
        store.attempts.takeStalled(T + 1001, { ms: 5000, owner: 'w' }, 10),
        store.attempts.takeStalled(T + 1001, { ms: 5000, owner: 'w' }, 10),
      ]);
      expect([...(a ?? []), ...(b ?? [])]).toEqual([{ messageId: 'm-l1', step: 0, claim: 'm-l1:0' }]);
      // leased again to its taker: not handed out before that lease ends
      expect(await store.attempts.takeStalled(T + 6000, { ms: 5000, owner: 'w' }, 10)).toEqual([]);
      await store.attempts.setLease('m-l1:0', T + 7000);
      expect((await store.attempts.takeStalled(T + 7001, { ms: 5000, owner: 'w' }, 10)).map((x) => x.claim)).toEqual(['m-l1:0']);
      await store.attempts.setLease('m-l1:0', null);
      expect(await store.attempts.takeStalled(T + 60_000, { ms: 5000, owner: 'w' }, 10)).toEqual([]);
      // an attempt without a lease never gets one by moving it
      await store.attempts.setLease('m-l3:0', T);
      expect(await store.attempts.takeStalled(T + 60_000, { ms: 5000, owner: 'w' }, 10)).toEqual([]);
    });
    it("a lease names its holder: a restarted instance ends its own leases at once, and no one else's", async () => {
      const lease = (owner: string) => ({ until: T + 60_000, owner });
      await store.attempts.claim({ messageId: 'm-o1', step: 0, channel: 'sms', provider: 'sandbox' }, T, lease('i-1'));
      await store.attempts.claim({ messageId: 'm-o2', step: 0, channel: 'sms', provider: 'sandbox' }, T, lease('i-2'));
      expect(await store.attempts.takeStalled(T + 1, { ms: 5000, owner: 'i-3' }, 10)).toEqual([]);
      expect(await store.attempts.expireLeasesOf('i-1', T + 2)).toBe(1);
      expect((await store.attempts.takeStalled(T + 3, { ms: 5000, owner: 'i-1' }, 10)).map((a) => a.claim)).toEqual(['m-o1:0']);
      // everyone's (one process owns the whole file)
      expect(await store.attempts.expireLeasesOf('*', T + 4)).toBe(2);
      expect((await store.attempts.takeStalled(T + 5, { ms: 5000, owner: 'i-1' }, 10)).map((a) => a.claim).sort()).toEqual([
        'm-o1:0',
        'm-o2:0',
      ]);
    });
    it("logs a receipt once, however often it comes: alone, in a batch, twice in one batch; an attempt found by its provider id names its message's contact", async () => {
      const a = await store.attempts.byProviderId('sandbox', 'p-1');
      expect(a).toMatchObject({ claim: 'm-a:1', contactId: 'c-1' });
      const id = (a as { id: string }).id;
      expect(await store.receipts.add(id, 'delivered', T + 10, { n: 1 })).toBe(true);
      expect(await store.receipts.add(id, 'delivered', T + 10, { n: 2 })).toBe(false);
      expect(
        await store.receipts.addMany([
          { attemptId: id, status: 'delivered', at: T + 10, detail: {} }, // logged already
          { attemptId: id, status: 'read', at: T + 20, detail: {} },
          { attemptId: id, status: 'read', at: T + 20, detail: {} }, // twice in the batch
          { attemptId: id, status: 'read', at: T + 30, detail: {} },
        ]),
      ).toEqual([
        { attemptId: id, status: 'read', at: T + 20 },
        { attemptId: id, status: 'read', at: T + 30 },
      ]);
      expect(await store.receipts.addMany([{ attemptId: id, status: 'read', at: T + 30, detail: {} }])).toEqual([]);
      expect(
        await store.receipts.addMany([
          { attemptId: id, status: 'read', at: T + 20, detail: {} },
          { attemptId: id, status: 'read', at: T + 30, detail: {} },
        ]),
      ).toEqual([]);
      expect((await store.receipts.forAttempts([id])).map((r) => `${r.status}@${r.at - T}`)).toEqual([
        'delivered@10',
        'read@20',
        'read@30',
      ]);
    });
    it('logs a receipt once when two transactions log it at the same moment (a retried webhook taken by another instance)', async () => {
      const id = ((await store.attempts.byProviderId('sandbox', 'p-1')) as { id: string }).id;
      let release = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let firstLogged: boolean | null = null;
      const first = store.transaction(async (tx) => {
        firstLogged = await tx.receipts.add(id, 'delivered', T + 40, { by: 'first' });
        await held;
      });
      while (firstLogged === null) await new Promise((r) => setTimeout(r, 5));
      // the second waits for the first to end (PostgreSQL: on the unique index; SQLite: for the writer)
      const second = store.transaction((tx) =>
        tx.receipts.addMany([{ attemptId: id, status: 'delivered', at: T + 40, detail: { by: 'second' } }]),
      );
      await new Promise((r) => setTimeout(r, 100));
      release();
      const [, secondLogged] = await Promise.all([first, second]);
      expect(firstLogged).toBe(true);
      expect(secondLogged).toEqual([]);
      expect((await store.receipts.forAttempts([id])).filter((r) => r.at === T + 40)).toHaveLength(1);
    });
    it('reports the inventory by channel, team, journey, type and outcome', async () => {
      const rows = await store.reports.inventory(T - 1000, T + 10_000);
      expect(rows).toEqual([{ channel: 'sms', team: 'support', journey: null, type: 'service', status: 'sent', messages: 1, cost: 0.01 }]);
    });
  });

  describe('a batch of receipts: one statement per kind of record', () => {
    const LATER = T + 1_000_000; // outside the inventory's window above
    let ca: string;
    let cb: string;
    beforeAll(async () => {
      ca = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550177001' }] }, LATER)).contact.id;
      cb = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550177002' }] }, LATER)).contact.id;
      for (const [id, contact, status] of [
        ['m-r1', ca, 'sent'],
        ['m-r2', cb, 'sent'],
        ['m-r3', ca, 'failed'],
      ] as const) {
        await store.messages.create(newMessage(id, contact), LATER);
        await store.attempts.claim({ messageId: id, step: 0, channel: 'sms', provider: 'sandbox' }, LATER);
        await store.attempts.update(`${id}:0`, { status, providerMessageId: `pr-${id}`, cost: 0.01 }, LATER);
        await store.messages.transition(id, ['queued'], status, LATER);
      }
    });
    it('finds the attempts of several provider ids at once, each with its contact; unknown ids are left out', async () => {
      const found = await store.attempts.byProviderIds('sandbox', ['pr-m-r1', 'pr-m-r2', 'pr-unknown']);
      expect([...found.keys()].sort()).toEqual(['pr-m-r1', 'pr-m-r2']);
      expect(found.get('pr-m-r1')).toMatchObject({ claim: 'm-r1:0', contactId: ca, status: 'sent' });
      expect(found.get('pr-m-r2')).toMatchObject({ claim: 'm-r2:0', contactId: cb });
      expect((await store.attempts.byProviderIds('other-provider', ['pr-m-r1'])).size).toBe(0);
      expect((await store.attempts.byProviderIds('sandbox', [])).size).toBe(0);
    });
    it('logs a long batch whole (more rows than one SQLite statement takes)', async () => {
      const id = (await store.attempts.byProviderIds('sandbox', ['pr-m-r1'])).get('pr-m-r1')?.id as string;
      const many = Array.from({ length: 650 }, (_, k) => ({ attemptId: id, status: 'read' as const, at: LATER + 10_000 + k, detail: {} }));
      expect(await store.receipts.addMany(many)).toHaveLength(650);
      expect(await store.receipts.addMany(many)).toEqual([]);
    });
    it('logs receipts of several attempts in one go, each once', async () => {
      const found = await store.attempts.byProviderIds('sandbox', ['pr-m-r1', 'pr-m-r2']);
      const id1 = found.get('pr-m-r1')?.id as string;
      const id2 = found.get('pr-m-r2')?.id as string;
      expect(
        await store.receipts.addMany([
          { attemptId: id1, status: 'delivered', at: LATER + 1, detail: {} },
          { attemptId: id2, status: 'delivered', at: LATER + 1, detail: {} }, // same status and time, another attempt
          { attemptId: id1, status: 'delivered', at: LATER + 1, detail: {} }, // twice
          { attemptId: id2, status: 'read', at: LATER + 2, detail: {} },
        ]),
      ).toEqual([
        { attemptId: id1, status: 'delivered', at: LATER + 1 },
        { attemptId: id2, status: 'delivered', at: LATER + 1 },
        { attemptId: id2, status: 'read', at: LATER + 2 },
      ]);
      expect(
        await store.receipts.addMany([
          { attemptId: id2, status: 'read', at: LATER + 2, detail: {} },
          { attemptId: id1, status: 'read', at: LATER + 3, detail: {} },
        ]),
      ).toEqual([{ attemptId: id1, status: 'read', at: LATER + 3 }]);
    });
    it('moves several attempts and messages forward at once, never back, never out of a failure', async () => {
      const claims = ['m-r1:0', 'm-r2:0', 'm-r3:0'];
      expect(await store.attempts.moveMany(claims, 'delivered', LATER + 5, ['claimed', 'sent'])).toBe(2);
      expect(await store.attempts.moveMany(claims, 'delivered', LATER + 6, ['claimed', 'sent'])).toBe(0);
      expect(await store.attempts.moveMany(['m-r1:0'], 'read', LATER + 7, ['claimed', 'sent', 'delivered'])).toBe(1);
      const status = async (c: string) => (await store.attempts.byClaim(c))?.status;
      expect([await status('m-r1:0'), await status('m-r2:0'), await status('m-r3:0')]).toEqual(['read', 'delivered', 'failed']);
      expect((await store.attempts.byClaim('m-r2:0'))?.updatedAt).toBe(LATER + 5);
      const ids = ['m-r1', 'm-r2', 'm-r3', 'm-unknown'];
      expect(await store.messages.transitionMany(ids, ['queued', 'sent'], 'delivered', LATER + 5)).toBe(2);
      expect(await store.messages.transitionMany(ids, ['queued', 'sent', 'delivered'], 'read', LATER + 6)).toBe(2);
      expect(await store.messages.transitionMany(ids, ['queued', 'sent'], 'delivered', LATER + 7)).toBe(0);
      expect((await Promise.all(['m-r1', 'm-r2', 'm-r3'].map((id) => store.messages.get(id)))).map((m) => m?.status)).toEqual([
        'read',
        'read',
        'failed',
      ]);
    });
    it('moves attempts and messages on by their receipts in one go (never back, never out of a failure) and cancels their timeouts', async () => {
      // m-d1: two attempts, one delivered now and one read now: the message ends read
      // m-d2: sent, delivered now; m-d3: read already, delivered now (stays read); m-d4: failed, read now (stays failed)
      const setUp: Array<[string, number, 'sent' | 'read' | 'failed']> = [
        ['m-d1', 0, 'sent'],
        ['m-d1', 1, 'sent'],
        ['m-d2', 0, 'sent'],
        ['m-d3', 0, 'read'],
        ['m-d4', 0, 'failed'],
      ];
      for (const id of ['m-d1', 'm-d2', 'm-d3', 'm-d4']) await store.messages.create(newMessage(id, ca), LATER);
      for (const [id, step, status] of setUp) {
        await store.attempts.claim({ messageId: id, step, channel: 'sms', provider: 'sandbox' }, LATER, {
          until: LATER + 9000,
          owner: 'w',
        });
        if (status !== 'sent' || step === 1)
          await store.attempts.update(`${id}:${step}`, { status, providerMessageId: `pd-${id}-${step}`, cost: 0 }, LATER);
      }
      await store.messages.transition('m-d1', ['queued'], 'sent', LATER);
      await store.messages.transition('m-d2', ['queued'], 'sent', LATER);
      await store.messages.transition('m-d3', ['queued'], 'read', LATER);
      await store.messages.transition('m-d4', ['queued'], 'failed', LATER);
      for (const id of ['m-d1', 'm-d2', 'm-d3'])
        await store.timers.schedule({ kind: 'timeout', messageId: id, step: 0 }, LATER + 60_000, LATER);
      await store.timers.schedule({ kind: 'timeout', messageId: 'm-d4', step: 0 }, LATER + 60_000, LATER);
      await store.timers.cancel([{ kind: 'timeout', messageId: 'm-d4', step: 0 }], LATER + 1);
      await store.deliveriesMoved(
        [
          { claim: 'm-d1:0', messageId: 'm-d1', status: 'delivered' },
          { claim: 'm-d1:1', messageId: 'm-d1', status: 'read' },
          { claim: 'm-d2:0', messageId: 'm-d2', status: 'delivered' },
          { claim: 'm-d3:0', messageId: 'm-d3', status: 'delivered' },
          { claim: 'm-d4:0', messageId: 'm-d4', status: 'read' },
        ],
        ['m-d1', 'm-d2', 'm-d3', 'm-d4'].map((id) => ({ kind: 'timeout' as const, messageId: id, step: 0 })),
        LATER + 20,
      );
      const attempt = async (c: string) => {
        const a = await store.attempts.byClaim(c);
        return [a?.status, a?.updatedAt];
      };
      expect(await attempt('m-d1:0')).toEqual(['delivered', LATER + 20]);
      expect(await attempt('m-d1:1')).toEqual(['read', LATER + 20]);
      expect(await attempt('m-d2:0')).toEqual(['delivered', LATER + 20]);
      expect(await attempt('m-d3:0')).toEqual(['read', LATER]);
      expect(await attempt('m-d4:0')).toEqual(['failed', LATER]);
      // the leases ended with the move (nothing to resume)
      expect(
        (await db.selectFrom('attempts').select('lease_owner').where('claim', '=', 'm-d1:0').executeTakeFirst())?.lease_owner,
      ).toBeNull();
      const messages = await Promise.all(['m-d1', 'm-d2', 'm-d3', 'm-d4'].map((id) => store.messages.get(id)));
      expect(messages.map((m) => [m?.status, m?.updatedAt])).toEqual([
        ['read', LATER + 20],
        ['delivered', LATER + 20],
        ['read', LATER],
        ['failed', LATER],
      ]);
      const timers = await db.selectFrom('timers').select(['key', 'cancelled_at']).where('key', 'like', 'm-d%').orderBy('key').execute();
      expect(timers.map((t) => [t.key, Number(t.cancelled_at)])).toEqual([
        ['m-d1:timeout:0', LATER + 20],
        ['m-d2:timeout:0', LATER + 20],
        ['m-d3:timeout:0', LATER + 20],
        ['m-d4:timeout:0', LATER + 1],
      ]);
      await store.deliveriesMoved([], [], LATER + 30);
    });
    it("changes several contacts' data in one go: each once, a record merged into another left alone", async () => {
      const other = (await store.contacts.upsert({ identities: [{ kind: 'email', value: 'batch-3@example.com' }] }, LATER)).contact.id;
      await store.contacts.upsert(
        {
          identities: [
            { kind: 'email', value: 'batch-3@example.com' },
            { kind: 'phone', value: '+15550177002' },
          ],
        },
        LATER + 1,
      );
      const rows = await db.selectFrom('contacts').select(['id', 'merged_into', 'version']).where('id', 'in', [ca, cb, other]).execute();
      const gone = rows.find((r) => r.merged_into !== null)?.id as string;
      expect([cb, other]).toContain(gone);
      const live = [ca, cb, other].filter((id) => id !== gone).sort();
      const calls: string[] = [];
      await store.contacts.updateDataMany([cb, ca, cb, other], LATER + 10, (id, c) => {
        calls.push(id);
        return { ...c, tags: [...c.tags, `seen-${id}`] };
      });
      expect(calls.sort()).toEqual(live);
      for (const id of live) expect((await store.contacts.get(id))?.tags).toContain(`seen-${id}`);
      const after = await db.selectFrom('contacts').select(['id', 'version', 'updated_at']).where('id', 'in', [ca, cb, other]).execute();
      for (const r of after) {
        const before = rows.find((x) => x.id === r.id);
        expect(Number(r.version)).toBe(Number(before?.version) + (r.id === gone ? 0 : 1));
        if (r.id !== gone) expect(Number(r.updated_at)).toBe(LATER + 10);
      }
      await store.contacts.updateDataMany([], LATER + 11, () => {
        throw new Error('never called');
      });
    });
  });

  describe('sends recorded together: one statement per kind of record', () => {
    const LATER = T + 2_000_000; // outside the inventory's window above
    beforeAll(async () => {
      for (const id of ['m-s1', 'm-s2', 'm-s3']) {
        await store.messages.create(newMessage(id, 'c-s'), LATER);
        await store.attempts.claim({ messageId: id, step: 0, channel: 'sms', provider: 'sandbox' }, LATER, {
          until: LATER + 5000,
          owner: 'w',
        });
      }
      await store.attempts.update('m-s3:0', { status: 'sent', providerMessageId: 'ps-3-first', cost: 0.5 }, LATER);
      await store.messages.transition('m-s2', ['queued'], 'sent', LATER, { channel: 'sms', cost: 0.25 });
      await store.messages.transition('m-s3', ['queued'], 'failed', LATER);
    });
    it('records claimed attempts as sent, each with what its send said; never one that moved on', async () => {
      const rendered = { kind: 'text' as const, text: 'Hi', segments: { encoding: 'GSM-7' as const, segments: 1, characters: 2 } };
      const moved = await store.attempts.sentMany(
        [
          {
            claim: 'm-s1:0',
            providerMessageId: 'ps-1',
            cost: 0.02,
            provider: 'router-b',
            route: 'a failed over to b',
            content: { rendered, language: 'en' },
          },
          { claim: 'm-s2:0', providerMessageId: 'ps-2', cost: 0.03 },
          { claim: 'm-s3:0', providerMessageId: 'ps-3-again', cost: 0.04 },
        ],
        LATER + 10,
      );
      expect([...moved].sort()).toEqual(['m-s1:0', 'm-s2:0']);
      expect(await store.attempts.byClaim('m-s1:0')).toMatchObject({
        status: 'sent',
        providerMessageId: 'ps-1',
        cost: 0.02,
        provider: 'router-b',
        route: 'a failed over to b',
        content: rendered,
        language: 'en',
        encoding: 'GSM-7',
        segments: 1,
        updatedAt: LATER + 10,
      });
      expect(await store.attempts.byClaim('m-s2:0')).toMatchObject({
        status: 'sent',
        providerMessageId: 'ps-2',
        cost: 0.03,
        provider: 'sandbox',
        route: null,
        content: null,
        language: null,
        encoding: null,
        segments: null,
      });
      expect(await store.attempts.byClaim('m-s3:0')).toMatchObject({ providerMessageId: 'ps-3-first', cost: 0.5 });
      // the leases ended with the update: nothing to resume
      const leases = await db
        .selectFrom('attempts')
        .select(['claim', 'lease_expires_at', 'lease_owner'])
        .where('claim', 'in', ['m-s1:0', 'm-s2:0'])
        .orderBy('claim')
        .execute();
      expect(leases).toEqual([
        { claim: 'm-s1:0', lease_expires_at: null, lease_owner: null },
        { claim: 'm-s2:0', lease_expires_at: null, lease_owner: null },
      ]);
      expect(await store.attempts.sentMany([], LATER + 11)).toEqual(new Set());
    });
    it('moves messages to sent on their channel, adding each cost; a failed one stays failed, what went for it paid all the same', async () => {
      await store.messages.sentMany(
        [
          { id: 'm-s1', channel: 'whatsapp', cost: 0.02 },
          { id: 'm-s2', channel: 'sms', cost: 0.03 },
          { id: 'm-s3', channel: 'sms', cost: 0.04 },
        ],
        LATER + 20,
      );
      const [a, b, c] = await Promise.all(['m-s1', 'm-s2', 'm-s3'].map((id) => store.messages.get(id)));
      expect([a?.status, a?.channel, a?.cost]).toEqual(['sent', 'whatsapp', 0.02]);
      expect([b?.status, b?.channel]).toEqual(['sent', 'sms']);
      expect(b?.cost).toBeCloseTo(0.28);
      expect([c?.status, c?.cost]).toEqual(['failed', 0.04]);
      // one at a time (the sender's single path): the same
      await store.messages.sent('m-s3', 'voice', 0.01, LATER + 21);
      const again = await store.messages.get('m-s3');
      expect(again?.status).toBe('failed');
      expect(again?.cost).toBeCloseTo(0.05);
    });
    it('records sends with their messages at once; says which have receipts parked, and leaves those for the caller', async () => {
      for (const id of ['m-sr1', 'm-sr2', 'm-sr3', 'm-sr4']) {
        await store.messages.create(newMessage(id, 'c-r'), LATER);
        await store.attempts.claim({ messageId: id, step: 0, channel: 'sms', provider: 'sandbox' }, LATER, {
          until: LATER + 5000,
          owner: 'w',
        });
      }
      // m-sr3's attempt went already (another worker resumed it): it does not move, nor does its message
      await store.attempts.update('m-sr3:0', { status: 'sent', providerMessageId: 'pr-3-first', cost: 0.5 }, LATER);
      await store.messages.transition('m-sr4', ['queued'], 'failed', LATER);
      await store.receipts.park('router-b', { providerMessageId: 'pr-1', status: 'delivered', at: '2026-11-23T07:05:00Z' }, LATER);
      // parked under another provider's name: not this send's
      await store.receipts.park('sandbox', { providerMessageId: 'pr-2', status: 'read', at: '2026-11-23T07:05:00Z' }, LATER);
      const rendered = { kind: 'text' as const, text: 'Hi', segments: { encoding: 'UCS-2' as const, segments: 2, characters: 80 } };
      const recorded = await store.sendsRecorded(
        [
          {
            claim: 'm-sr1:0',
            messageId: 'm-sr1',
            channel: 'sms',
            provider: 'router-b',
            providerMessageId: 'pr-1',
            cost: 0.02,
            route: 'a failed over to b',
            content: { rendered, language: 'sw' },
          },
          { claim: 'm-sr2:0', messageId: 'm-sr2', channel: 'whatsapp', provider: 'other', providerMessageId: 'pr-2', cost: 0.03 },
          { claim: 'm-sr3:0', messageId: 'm-sr3', channel: 'sms', provider: 'sandbox', providerMessageId: 'pr-3-again', cost: 0.04 },
          { claim: 'm-sr4:0', messageId: 'm-sr4', channel: 'sms', provider: 'sandbox', providerMessageId: 'pr-4', cost: 0.05 },
        ],
        LATER + 40,
      );
      expect([...recorded].sort((a, b) => a.claim.localeCompare(b.claim))).toEqual([
        { claim: 'm-sr1:0', provider: 'router-b', providerMessageId: 'pr-1', parked: true },
        { claim: 'm-sr2:0', provider: 'other', providerMessageId: 'pr-2', parked: false },
        { claim: 'm-sr4:0', provider: 'sandbox', providerMessageId: 'pr-4', parked: false },
      ]);
      expect(await store.attempts.byClaim('m-sr1:0')).toMatchObject({
        status: 'sent',
        provider: 'router-b',
        route: 'a failed over to b',
        content: rendered,
        language: 'sw',
        encoding: 'UCS-2',
        segments: 2,
        cost: 0.02,
        updatedAt: LATER + 40,
      });
      expect(await store.attempts.byClaim('m-sr2:0')).toMatchObject({ status: 'sent', provider: 'other', route: null, content: null });
      expect(await store.attempts.byClaim('m-sr3:0')).toMatchObject({ providerMessageId: 'pr-3-first', cost: 0.5 });
      const [a, b, c, d] = await Promise.all(['m-sr1', 'm-sr2', 'm-sr3', 'm-sr4'].map((id) => store.messages.get(id)));
      expect([a?.status, a?.channel, a?.cost]).toEqual(['sent', 'sms', 0.02]);
      expect([b?.status, b?.channel, b?.cost]).toEqual(['sent', 'whatsapp', 0.03]);
      expect([c?.status, c?.cost]).toEqual(['queued', 0]);
      // a failed message stays failed; what went for it is paid all the same
      expect([d?.status, d?.cost]).toEqual(['failed', 0.05]);
      // looked at, not taken: the caller takes what waits and applies it
      expect((await store.receipts.takeParkedMany('router-b', ['pr-1'])).get('pr-1')?.map((r) => r.status)).toEqual(['delivered']);
      expect(await store.receipts.parkedAmong('sandbox', ['pr-2', 'pr-4'])).toEqual(new Set(['pr-2']));
      expect(await store.sendsRecorded([], LATER + 41)).toEqual([]);
    });
    it('records the same message twice in one list as the sends one by one would (two steps: both costs count)', async () => {
      await store.messages.create(newMessage('m-sr5', 'c-r'), LATER);
      for (const step of [0, 1])
        await store.attempts.claim({ messageId: 'm-sr5', step, channel: 'sms', provider: 'sandbox' }, LATER, {
          until: LATER + 5000,
          owner: 'w',
        });
      const recorded = await store.sendsRecorded(
        [
          { claim: 'm-sr5:0', messageId: 'm-sr5', channel: 'sms', provider: 'sandbox', providerMessageId: 'pr-5a', cost: 0.01 },
          { claim: 'm-sr5:1', messageId: 'm-sr5', channel: 'email', provider: 'sandbox', providerMessageId: 'pr-5b', cost: 0.02 },
        ],
        LATER + 50,
      );
      expect(recorded.map((r) => r.claim).sort()).toEqual(['m-sr5:0', 'm-sr5:1']);
      const m = await store.messages.get('m-sr5');
      expect(m?.status).toBe('sent');
      expect(m?.cost).toBeCloseTo(0.03);
    });
    it("schedules messages' timers once per key, each carrying its message's contact", async () => {
      await store.timers.schedule({ kind: 'timeout', messageId: 'm-s1', step: 0 }, LATER + 100, LATER);
      await store.timers.scheduleMany(
        [
          { t: { kind: 'timeout', messageId: 'm-s1', step: 0 }, dueAt: LATER + 999 }, // there already
          { t: { kind: 'step', messageId: 'm-s1', step: 1 }, dueAt: LATER + 200 },
          { t: { kind: 'timeout', messageId: 'm-s2', step: 0 }, dueAt: LATER + 300 },
          { t: { kind: 'timeout', messageId: 'm-s2', step: 0 }, dueAt: LATER + 301 }, // twice
        ],
        LATER + 30,
      );
      const mine = await store.timers.pendingOf('c-s', LATER, 10);
      expect(mine.map((t) => [t.key, t.dueAt - LATER])).toEqual([
        ['m-s1:timeout:0', 100],
        ['m-s1:step:1', 200],
        ['m-s2:timeout:0', 300],
      ]);
      expect(mine[1]?.payload).toEqual({ messageId: 'm-s1', step: 1 });
      expect(mine[1]?.kind).toBe('step');
    });
  });

  describe("a unit's events: their contacts locked and their events recorded together", () => {
    const LATER = T + 3_000_000;
    it('records several events on their contacts, each once', async () => {
      const x = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550188001' }] }, LATER)).contact.id;
      const y = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550188002' }] }, LATER)).contact.id;
      const e = (id: string, at: number) => ({
        id,
        type: 'invoice.overdue',
        at,
        object: { type: 'invoice', id: `i-${id}` },
        data: { n: id },
      });
      await store.contactEvents.record(x, e('ev-x0', LATER));
      await store.contactEvents.recordMany([
        { contactId: x, e: e('ev-x0', LATER) }, // recorded already
        { contactId: x, e: e('ev-x1', LATER + 1) },
        { contactId: y, e: e('ev-y1', LATER + 2) },
        { contactId: y, e: e('ev-y1', LATER + 2) }, // twice
      ]);
      await store.contactEvents.recordMany([]);
      expect((await store.contactEvents.since(x, LATER)).map((p) => [p.object?.id, p.data])).toEqual([
        ['i-ev-x0', { n: 'ev-x0' }],
        ['i-ev-x1', { n: 'ev-x1' }],
      ]);
      expect(await store.contactEvents.since(y, LATER)).toEqual([
        {
          type: 'invoice.overdue',
          at: new Date(LATER + 2).toISOString(),
          data: { n: 'ev-y1' },
          object: { type: 'invoice', id: 'i-ev-y1' },
        },
      ]);
    });
    it('locks several contacts in one go (PostgreSQL), saying what each was merged into; resolving them then follows the merges', async () => {
      const p = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550188011' }] }, LATER)).contact.id;
      const q = (await store.contacts.upsert({ identities: [{ kind: 'email', value: 'lock-q@example.com' }] }, LATER)).contact.id;
      await store.contacts.upsert(
        {
          identities: [
            { kind: 'phone', value: '+15550188011' },
            { kind: 'email', value: 'lock-q@example.com' },
          ],
        },
        LATER + 1,
      );
      const rows = await db.selectFrom('contacts').select(['id', 'merged_into']).where('id', 'in', [p, q]).execute();
      const gone = rows.find((r) => r.merged_into !== null);
      const kept = rows.find((r) => r.merged_into === null)?.id as string;
      expect(gone?.merged_into).toBe(kept);
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let locked: Map<string, string | null> | null = null;
      let resolved: Array<string | null> = [];
      const first = store.transaction(async (tx) => {
        locked = await tx.contacts.lockMany([gone?.id as string, kept, 'no-such-contact', kept]);
        resolved = [
          await tx.contacts.lockCurrent(gone?.id as string),
          await tx.contacts.lockCurrent(kept),
          await tx.contacts.lockCurrent('no-such-contact'),
        ];
        await held;
      });
      // until the first transaction holds its locks and has resolved all three (not only locked them)
      while (resolved.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(resolved).toEqual([kept, kept, null]);
      if (factory.name === 'postgres') {
        expect(locked).toEqual(
          new Map([
            [gone?.id as string, kept],
            [kept, null],
          ]),
        );
        // another transaction waits for the lock to change the contact
        const order: string[] = [];
        const second = store.transaction(async (tx) => {
          await tx.contacts.updateData(kept, LATER + 2, (c) => c);
          order.push('second changed it');
        });
        await new Promise((r) => setTimeout(r, 100));
        order.push('first ends');
        release();
        await Promise.all([first, second]);
        expect(order).toEqual(['first ends', 'second changed it']);
      } else {
        // SQLite has one writer: nothing to lock, nothing learned
        expect(locked).toEqual(new Map());
        release();
        await first;
      }
    });
  });

  describe('a contact locked, then merged in the same transaction', () => {
    it('resolves to the contact it was merged into (what the lock remembered is brought up to date)', async () => {
      const LATER = T + 6_000_000;
      const older = (await store.contacts.upsert({ identities: [{ kind: 'hubspot', value: 'memo-1' }] }, LATER)).contact.id;
      const newer = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+15550199001' }] }, LATER + 1)).contact.id;
      const seen = await store.transaction(async (tx) => {
        await tx.contacts.lockMany([newer, older]);
        const before = [await tx.contacts.lockCurrent(newer), await tx.contacts.lockCurrent(older)];
        await tx.contacts.upsert(
          {
            identities: [
              { kind: 'hubspot', value: 'memo-1' },
              { kind: 'phone', value: '+15550199001' },
            ],
          },
          LATER + 2,
        );
        return {
          before,
          after: [await tx.contacts.lockCurrent(newer), await tx.contacts.lockCurrent(older)],
          current: await tx.contacts.currentId(newer),
        };
      });
      expect(seen.before).toEqual([newer, older]);
      expect([older, newer]).toContain(seen.current);
      expect(seen.after).toEqual([seen.current, seen.current]);
      expect(await store.contacts.currentId(older)).toBe(seen.current);
    });
  });

  describe("timers kept to be written together (a unit of work's journey waits)", () => {
    const LATER = T + 4_000_000;
    const wait = (timerId: string) => ({ kind: 'journey' as const, instanceId: 'ji-later', timerId });
    it('are written before timers are read or changed, around savepoints and before commit; a rolled-back savepoint or transaction drops them', async () => {
      await store.journeys.create(
        {
          id: 'ji-later',
          journeyId: 'j-later',
          key: 'k-later',
          contactId: 'c-later',
          state: { status: 'active' } as unknown as JourneyInstance,
        },
        LATER,
      );
      const keys = async (s: Store) => (await s.timers.pendingOf('c-later', LATER, 20)).map((t) => t.key);
      await store.transaction(async (tx) => {
        await tx.timers.scheduleLater(wait('w1'), LATER + 10, LATER);
        await tx.timers.scheduleLater(wait('w2'), LATER + 20, LATER);
        await tx.timers.scheduleLater(wait('w1'), LATER + 99, LATER); // the first one stands
        // read through the transaction: written first, each carrying its instance's contact
        expect(await keys(tx)).toEqual(['journey:w1', 'journey:w2']);
        expect((await tx.timers.pendingOf('c-later', LATER, 20))[0]?.dueAt).toBe(LATER + 10);
        await tx.timers.scheduleLater(wait('w3'), LATER + 30, LATER);
        // changed through the transaction: written first, so the cancel finds it
        expect(await tx.timers.cancel([wait('w3')], LATER)).toBe(1);
        await expect(
          tx.savepoint('sp', async () => {
            await tx.timers.scheduleLater(wait('w4'), LATER + 40, LATER);
            throw new Error('taken back');
          }),
        ).rejects.toThrow('taken back');
        await tx.timers.scheduleLater(wait('w5'), LATER + 50, LATER);
        await tx.savepoint('sp2', async () => {
          await tx.timers.scheduleLater(wait('w6'), LATER + 60, LATER);
        });
        await tx.timers.scheduleLater(wait('w7'), LATER + 70, LATER);
      });
      expect(await keys(store)).toEqual(['journey:w1', 'journey:w2', 'journey:w5', 'journey:w6', 'journey:w7']);
      await expect(
        store.transaction(async (tx) => {
          await tx.timers.scheduleLater(wait('w8'), LATER + 80, LATER);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      // outside a transaction it is written at once
      await store.timers.scheduleLater(wait('w9'), LATER + 90, LATER);
      expect(await keys(store)).toEqual(['journey:w1', 'journey:w2', 'journey:w5', 'journey:w6', 'journey:w7', 'journey:w9']);
    });
  });

  describe('a message recorded with its first step claimed', () => {
    const LATER = T + 5_000_000;
    const step = (messageId: string) => ({ messageId, step: 0, channel: 'sms', provider: 'sandbox' });
    it('claims the step of a message recorded now, leased; never for a message its key found recorded before', async () => {
      const lease = { until: LATER + 5000, owner: 'w-1' };
      expect(await store.attempts.claimWithMessage(newMessage('m-w1', 'c-w', 'key-w1'), LATER, step('m-w1'), lease)).toEqual({
        created: true,
        claim: 'm-w1:0',
      });
      expect(await store.messages.get('m-w1')).toMatchObject({ id: 'm-w1', contactId: 'c-w', status: 'queued', createdAt: LATER });
      expect(await store.attempts.byClaim('m-w1:0')).toMatchObject({ messageId: 'm-w1', step: 0, channel: 'sms', status: 'claimed' });
      const leased = await db.selectFrom('attempts').select(['lease_expires_at', 'lease_owner']).where('claim', '=', 'm-w1:0').execute();
      expect(leased.map((r) => [Number(r.lease_expires_at), r.lease_owner])).toEqual([[LATER + 5000, 'w-1']]);
      // the same key again: nothing recorded, nothing claimed
      expect(await store.attempts.claimWithMessage(newMessage('m-w2', 'c-w', 'key-w1'), LATER + 1, step('m-w2'), lease)).toEqual({
        created: false,
        claim: null,
      });
      expect(await store.messages.get('m-w2')).toBeNull();
      expect(await store.attempts.byClaim('m-w2:0')).toBeNull();
      expect((await store.messages.byIdempotencyKey('key-w1')).id).toBe('m-w1');
      // without a key, and without a lease (a timer stands behind it)
      expect(await store.attempts.claimWithMessage(newMessage('m-w3', 'c-w'), LATER, step('m-w3'), null)).toEqual({
        created: true,
        claim: 'm-w3:0',
      });
      const none = await db.selectFrom('attempts').select(['lease_expires_at']).where('claim', '=', 'm-w3:0').execute();
      expect(none).toEqual([{ lease_expires_at: null }]);
    });
    it('records several messages with their first steps claimed at once, answering each as it would alone', async () => {
      const lease = { until: LATER + 5000, owner: 'w-2' };
      await store.attempts.claimWithMessage(newMessage('m-x0', 'c-x', 'key-x0'), LATER, step('m-x0'), lease);
      const answers = await store.attempts.claimWithMessages([
        { m: newMessage('m-x1', 'c-x', 'key-x1'), a: step('m-x1'), lease, now: LATER + 1 },
        // its key made a message before: nothing recorded, nothing claimed
        { m: newMessage('m-x2', 'c-y', 'key-x0'), a: step('m-x2'), lease, now: LATER + 1 },
        // each at its own time
        { m: newMessage('m-x3', 'c-z'), a: step('m-x3'), lease: null, now: LATER + 2 },
      ]);
      expect(answers).toEqual(
        new Map([
          ['m-x1', { created: true, claim: 'm-x1:0' }],
          ['m-x2', { created: false, claim: null }],
          ['m-x3', { created: true, claim: 'm-x3:0' }],
        ]),
      );
      expect(await store.messages.get('m-x1')).toMatchObject({ id: 'm-x1', contactId: 'c-x', status: 'queued', createdAt: LATER + 1 });
      expect(await store.messages.get('m-x3')).toMatchObject({ id: 'm-x3', contactId: 'c-z', idempotencyKey: null, createdAt: LATER + 2 });
      expect(await store.messages.get('m-x2')).toBeNull();
      expect(await store.attempts.byClaim('m-x2:0')).toBeNull();
      const leases = await db
        .selectFrom('attempts')
        .select(['claim', 'lease_expires_at', 'lease_owner', 'status', 'step', 'provider', 'created_at'])
        .where('claim', 'in', ['m-x1:0', 'm-x3:0'])
        .orderBy('claim')
        .execute();
      expect(
        leases.map((r) => [
          r.claim,
          r.lease_expires_at === null ? null : Number(r.lease_expires_at),
          r.lease_owner,
          r.status,
          Number(r.step),
          r.provider,
          Number(r.created_at),
        ]),
      ).toEqual([
        ['m-x1:0', LATER + 5000, 'w-2', 'claimed', 0, 'sandbox', LATER + 1],
        ['m-x3:0', null, null, 'claimed', 0, 'sandbox', LATER + 2],
      ]);
    });
  });

  describe('journey instances', () => {
    const state = (status: 'active' | 'exited', a = 1) => ({ status, a }) as unknown as JourneyInstance;
    it('one active instance per journey and key; optimistic saves', async () => {
      expect(
        await store.journeys.create(
          { id: 'ji-1', journeyId: 'payment-reminder', key: 'object:invoice:1', contactId: 'c-1', state: state('active') },
          T,
        ),
      ).toBe(true);
      expect(
        await store.journeys.create(
          { id: 'ji-2', journeyId: 'payment-reminder', key: 'object:invoice:1', contactId: 'c-1', state: state('active') },
          T,
        ),
      ).toBe(false);
      expect(await store.journeys.save('ji-1', 1, state('active', 2), T)).toBe(true);
      expect(await store.journeys.save('ji-1', 1, state('active', 3), T)).toBe(false);
      expect(await store.journeys.save('ji-1', 2, state('exited', 3), T)).toBe(true);
      expect((await store.journeys.get('ji-1'))?.status).toBe('exited');
      // once ended, a new instance for the same key may start
      expect(
        await store.journeys.create(
          { id: 'ji-3', journeyId: 'payment-reminder', key: 'object:invoice:1', contactId: 'c-1', state: state('active') },
          T,
        ),
      ).toBe(true);
      expect((await store.journeys.active({ key: 'object:invoice:1' })).map((i) => i.id)).toEqual(['ji-3']);
    });
    it('creates several instances at once: those whose journey and key are free', async () => {
      await store.journeys.create(
        { id: 'jm-0', journeyId: 'renewal', key: 'object:subscription:1', contactId: 'c-1', state: state('active') },
        T,
      );
      const created = await store.journeys.createMany(
        [
          { id: 'jm-1', journeyId: 'renewal', key: 'object:subscription:1', contactId: 'c-2', state: state('active') },
          { id: 'jm-2', journeyId: 'renewal', key: 'object:subscription:2', contactId: 'c-2', state: state('active', 7) },
          { id: 'jm-3', journeyId: 'onboarding', key: 'contact:c-2', contactId: 'c-2', state: state('active') },
        ],
        T + 1,
      );
      expect([...created].sort()).toEqual(['jm-2', 'jm-3']);
      expect((await store.journeys.active({ key: 'object:subscription:1' })).map((i) => i.id)).toEqual(['jm-0']);
      expect(await store.journeys.active({ key: 'object:subscription:2' })).toEqual([
        { id: 'jm-2', journeyId: 'renewal', key: 'object:subscription:2', status: 'active', version: 1, state: state('active', 7) },
      ]);
    });
  });

  describe('idempotency claims', () => {
    it('keep the first response', async () => {
      expect(await store.idempotency.put('messages', 'k', { requestHash: 'h1', status: 202, response: { id: 1 } }, T)).toBe(true);
      expect(await store.idempotency.put('messages', 'k', { requestHash: 'h2', status: 202, response: { id: 2 } }, T)).toBe(false);
      expect(await store.idempotency.get('messages', 'k')).toEqual({ requestHash: 'h1', status: 202, response: { id: 1 } });
    });
  });

  // last: its messages would count in the reports above
  describe('timers by contact', () => {
    it("a timer takes its message's contact; pendingOf reads one contact's, soonest first; a merge carries them", async () => {
      const a = (await store.contacts.upsert({ identities: [{ kind: 'email', value: 'timers-a@example.com' }] }, T)).contact;
      const b = (await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254711000777' }] }, T)).contact;
      await store.messages.create(newMessage('tm-a', a.id), T);
      await store.messages.create(newMessage('tm-b', b.id), T);
      await store.timers.schedule({ kind: 'timeout', messageId: 'tm-a', step: 0 }, T + 9_000, T);
      await store.timers.schedule({ kind: 'step', messageId: 'tm-a', step: 1 }, T + 5_000, T);
      await store.timers.schedule({ kind: 'step', messageId: 'tm-a', step: 2 }, T - 120_000, T);
      await store.timers.schedule({ kind: 'timeout', messageId: 'tm-b', step: 0 }, T + 1_000, T);
      expect((await store.timers.pendingOf(a.id, T - 60_000, 10)).map((t) => t.key)).toEqual(['tm-a:step:1', 'tm-a:timeout:0']);
      expect((await store.timers.pendingOf(a.id, T - 60_000, 1)).map((t) => t.key)).toEqual(['tm-a:step:1']);
      expect((await store.timers.pendingOf(b.id, 0, 10)).map((t) => t.key)).toEqual(['tm-b:timeout:0']);
      await store.timers.cancelFor('tm-b', T);
      expect(await store.timers.pendingOf(b.id, 0, 10)).toEqual([]);
      // a and b turn out to be one person (an upsert naming both): a's timers follow into the survivor
      await store.timers.schedule({ kind: 'step', messageId: 'tm-b', step: 3 }, T + 2_000, T);
      const merged = await store.contacts.upsert(
        {
          identities: [
            { kind: 'email', value: 'timers-a@example.com' },
            { kind: 'phone', value: '+254711000777' },
          ],
        },
        T,
      );
      const survivor = merged.contact.id;
      const loser = survivor === a.id ? b.id : a.id;
      expect((await store.timers.pendingOf(survivor, 0, 10)).map((t) => t.key)).toEqual([
        'tm-a:step:2',
        'tm-b:step:3',
        'tm-a:step:1',
        'tm-a:timeout:0',
      ]);
      expect(await store.timers.pendingOf(loser, 0, 10)).toEqual([]);
      for (const ref of ['tm-a', 'tm-b']) await store.timers.cancelFor(ref, T);
    });
  });
});
