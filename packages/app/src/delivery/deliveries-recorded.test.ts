/**
 * The receipts' one statement on PostgreSQL locks rows in the order every other writer does
 * (attempts, then messages, then timers): a delivered receipt racing its step's timeout waits for
 * it, where locking the timer first deadlocked the two.
 */
import { afterAll, expect, it } from 'vitest';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { Store } from '../store/store.js';
import { newMessage, TEST_DATABASE_URL } from '../store/testing.js';

const T = Date.parse('2026-11-23T10:00:00Z');
const schema = `t_dr_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
afterAll(async () => {
  await dropPostgresSchema(TEST_DATABASE_URL, schema);
});

it('a receipt and its timeout at once: the receipt waits for the attempt the timeout holds, and neither deadlocks', async () => {
  const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 4, upkeep: 'off' });
  const store = new Store(db);
  try {
    await store.messages.create(newMessage('m-race', 'c-race'), T);
    await store.attempts.claim({ messageId: 'm-race', step: 0, channel: 'sms', provider: 'sandbox' }, T);
    await store.attempts.update('m-race:0', { status: 'sent', providerMessageId: 'p-race', cost: 0 }, T);
    await store.messages.transition('m-race', ['queued'], 'sent', T);
    const timeout = { kind: 'timeout' as const, messageId: 'm-race', step: 0 };
    await store.timers.schedule(timeout, T + 60_000, T);
    let holding!: () => void;
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    // the timeout fires: its attempt expires (locked), then, a moment later, its timer is settled
    const fired = store.transaction(async (tx) => {
      await tx.attempts.update('m-race:0', { status: 'expired' }, T + 60_000, ['sent']);
      holding();
      await new Promise((r) => setTimeout(r, 300));
      await tx.timers.cancel([timeout], T + 60_000);
    });
    await held;
    // meanwhile the delivered receipt comes: it must wait for the attempt before touching the timer
    const receipt = store.deliveriesMoved([{ claim: 'm-race:0', messageId: 'm-race', status: 'delivered' }], [timeout], T + 60_001);
    await Promise.all([fired, receipt]);
    // the timeout won: an expired attempt is not moved on by a later delivery receipt
    expect((await store.attempts.byClaim('m-race:0'))?.status).toBe('expired');
    const [timer] = await db.db.selectFrom('timers').select('cancelled_at').execute();
    expect(Number(timer?.cancelled_at)).toBe(T + 60_000);
  } finally {
    await store.close();
  }
});
