import type { CompiledRuleset, Receipt } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { ContactRepository } from '../contacts/contact-repository.js';
import { withEngagement } from '../contacts/engagement.js';
import type { TimerFor } from '../timers/timer-key.js';
import type { AttemptRepository, AttemptRow } from './attempt-repository.js';
import { ATTEMPT_FAILED } from './attempt-status.js';
import type { DeliveryMove } from './deliveries-recorded.js';
import type { FollowUpStore, FollowUps } from './follow-ups.js';
import type { ReceiptRepository } from './receipt-repository.js';

export interface ReceiptStore extends FollowUpStore {
  attempts: AttemptRepository;
  receipts: ReceiptRepository;
  contacts: ContactRepository;
  othersWaitingToWrite(): boolean;
  /** Attempts and messages moved on by delivered and read receipts, and timers cancelled (see `Store.deliveriesMoved`). */
  deliveriesMoved(moves: readonly DeliveryMove[], cancel: readonly TimerFor[], now: number): Promise<void>;
}

/** A store that can open a transaction of its own (the root store). */
export interface TransactionalStore {
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

/** Receipts applied per commit (in order; the next chunk after the HTTP thread has breathed). */
const RECEIPTS_PER_COMMIT = 200;
/** Delivered and read receipts applied together at most (SQLite's one writer checks for others waiting between runs). */
const RUN_MAX = 100;
const DAY = 86_400_000;
const PARKED_KEPT_MS = 7 * DAY;

/** An attempt a receipt names, found with its message's contact (whose engagement the receipt updates). */
type FoundAttempt = AttemptRow & { contactId: string | null };

const isDelivery = (r: Receipt) => r.status === 'delivered' || r.status === 'read';

/** When the provider says a receipt happened (`now` if its time does not parse). */
const receiptTime = (r: Receipt, now: number): number => {
  const at = Date.parse(r.at);
  return Number.isFinite(at) ? at : now;
};

/** Receipts grouped by the attempt each names, in the order they came; those of unknown attempts are left out. */
function groupByAttempt<A>(list: readonly Receipt[], attempts: ReadonlyMap<string, A>): Array<{ attempt: A; list: Receipt[] }> {
  const groups = new Map<string, { attempt: A; list: Receipt[] }>();
  for (const r of list) {
    const attempt = attempts.get(r.providerMessageId);
    if (attempt === undefined) continue;
    const g = groups.get(r.providerMessageId) ?? { attempt, list: [] };
    g.list.push(r);
    groups.set(r.providerMessageId, g);
  }
  return [...groups.values()];
}

export const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Delivery receipts move attempts along (sent → delivered → read); failed and undelivered steps
 * fire their fallback; a late receipt changes nothing. A receipt that beats the send's own
 * bookkeeping is parked and applied, exactly once, by whichever side comes second.
 */
export class Receipts {
  constructor(
    private readonly d: {
      store: ReceiptStore & TransactionalStore;
      followUps: FollowUps;
      ruleset: () => CompiledRuleset;
      clock: Clock;
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /**
   * A batch of one provider's receipts, applied in order, a few hundred per transaction (SQLite
   * has one writer, and a long batch would hold the worker back: the transaction ends early when
   * another connection waits for the lock). Delivered and read receipts that come one after the
   * other are applied together (see `deliveryRun`).
   */
  async apply(providerName: string, list: readonly Receipt[]): Promise<Array<'applied' | 'parked'>> {
    const out: Array<'applied' | 'parked'> = [];
    while (out.length < list.length) {
      if (out.length > 0) await yieldToIo();
      const start = out.length;
      const done = await this.d.store.transaction(async (tx) => {
        const applied: Array<'applied' | 'parked'> = [];
        let i = start;
        while (i < list.length && applied.length < RECEIPTS_PER_COMMIT) {
          if (applied.length > 0 && tx.othersWaitingToWrite()) break;
          const r = list[i] as Receipt;
          if (!isDelivery(r)) {
            applied.push(await this.one(tx, providerName, r));
            i++;
            continue;
          }
          let j = i + 1;
          while (j < list.length && j - i < RUN_MAX && j - start < RECEIPTS_PER_COMMIT && isDelivery(list[j] as Receipt)) j++;
          applied.push(...(await this.deliveryRun(tx, providerName, list.slice(i, j))));
          i = j;
        }
        return applied;
      });
      out.push(...done);
    }
    return out;
  }

  /**
   * Delivered and read receipts that came one after the other, of any number of messages: their
   * attempts are looked up together, and those found are applied together (`deliveries`), each
   * message's receipts in the order they came. Those whose attempt is not known yet are parked
   * together (and applied at once if their sends were recorded meanwhile).
   */
  private async deliveryRun(store: ReceiptStore, providerName: string, run: readonly Receipt[]): Promise<Array<'applied' | 'parked'>> {
    const attempts = await store.attempts.byProviderIds(providerName, [...new Set(run.map((r) => r.providerMessageId))]);
    const unknown = run.filter((r) => !attempts.has(r.providerMessageId));
    await this.deliveries(store, groupByAttempt(run, attempts));
    if (unknown.length > 0) {
      await store.receipts.parkMany(providerName, unknown, this.now());
      // the sends may have recorded their ids meanwhile: whoever takes the parked rows applies them
      const ids = [...new Set(unknown.map((r) => r.providerMessageId))];
      const known = await store.attempts.byProviderIds(providerName, ids);
      if (known.size > 0)
        await this.applyParkedMany(
          store,
          [...known.keys()].map((providerMessageId) => ({ provider: providerName, providerMessageId })),
        );
    }
    return run.map((r) => (attempts.has(r.providerMessageId) ? 'applied' : 'parked'));
  }

  private async one(store: ReceiptStore, providerName: string, r: Receipt): Promise<'applied' | 'parked'> {
    const attempt = await store.attempts.byProviderId(providerName, r.providerMessageId);
    if (attempt !== null) {
      await this.applyTo(store, attempt, r);
      return 'applied';
    }
    await store.receipts.park(providerName, r, this.now());
    // the send may have recorded the id meanwhile: whoever takes the parked row applies it
    if ((await store.attempts.byProviderId(providerName, r.providerMessageId)) !== null)
      await this.applyParked(store, providerName, r.providerMessageId);
    return 'parked';
  }

  /** Applies what was parked for a provider id (the send has just recorded it). */
  applyParked(store: ReceiptStore, providerName: string, providerMessageId: string): Promise<void> {
    return this.applyParkedMany(store, [{ provider: providerName, providerMessageId }]);
  }

  /**
   * `applyParked` for several sends at once (those recorded together in one transaction): what
   * was parked for them is taken in one statement per provider, their attempts are looked up in
   * one, and their delivered and read receipts applied together; failures then one by one.
   */
  async applyParkedMany(store: ReceiptStore, sent: ReadonlyArray<{ provider: string; providerMessageId: string }>): Promise<void> {
    const byProvider = new Map<string, string[]>();
    for (const s of sent) byProvider.set(s.provider, [...(byProvider.get(s.provider) ?? []), s.providerMessageId]);
    for (const [providerName, ids] of byProvider) {
      const parked = await store.receipts.takeParkedMany(providerName, ids);
      if (parked.size === 0) continue;
      const attempts = await store.attempts.byProviderIds(providerName, [...parked.keys()]);
      const list = [...parked.values()].flat();
      await this.deliveries(store, groupByAttempt(list.filter(isDelivery), attempts));
      for (const r of list) {
        const attempt = attempts.get(r.providerMessageId);
        if (attempt !== undefined && !isDelivery(r)) await this.applyTo(store, attempt, r);
      }
    }
  }

  /**
   * Applies parked receipts whose send is known by now (both sides of the race can miss each other
   * when their transactions overlap on PostgreSQL), and drops those no send claimed within a week.
   */
  async sweepParked(limit = 50): Promise<number> {
    const root = this.d.store;
    const known = await root.receipts.parkedNowKnown(limit);
    for (const k of known) await root.transaction((tx) => this.applyParked(tx, k.provider, k.providerMessageId));
    await root.receipts.dropParkedBefore(this.now() - PARKED_KEPT_MS);
    return known.length;
  }

  private async applyTo(store: ReceiptStore, attempt: FoundAttempt, r: Receipt): Promise<void> {
    if (isDelivery(r)) {
      await this.deliveries(store, [{ attempt, list: [r] }]);
      return;
    }
    const now = this.now();
    // the same receipt again (a provider's retry): what it did was done with it, in one transaction
    if (!(await store.receipts.add(attempt.id, r.status, receiptTime(r, now), r))) return;
    await store.attempts.update(
      attempt.claim,
      { status: r.status === 'failed' ? 'failed' : 'undelivered', ...(r.error !== undefined ? { error: r.error.slice(0, 500) } : {}) },
      now,
      ['claimed', 'sent'],
    );
    // a redelivered receipt after a crash still leads to the fallback (afterFailed is idempotent);
    // a failure receipt after delivery changes nothing
    const current = await store.attempts.byClaim(attempt.claim);
    if (current !== null && ATTEMPT_FAILED.includes(current.status))
      await this.d.followUps.afterFailed(store, attempt.messageId, attempt.step);
  }

  /**
   * Delivered and read receipts of attempts (each attempt's in the order they came): each is
   * recorded; each attempt and its message move to the furthest status (never back), the delivery
   * timeouts are cancelled, and each contact's engagement counts each receipt. The same as applying
   * them one by one, with one statement for each kind of record instead of one per receipt.
   */
  private async deliveries(store: ReceiptStore, groups: ReadonlyArray<{ attempt: FoundAttempt; list: readonly Receipt[] }>): Promise<void> {
    if (groups.length === 0) return;
    const now = this.now();
    // the same receipt again (a provider's retry) is neither logged nor counted a second time
    const logged = await store.receipts.addMany(
      groups.flatMap((g) => g.list.map((r) => ({ attemptId: g.attempt.id, status: r.status, at: receiptTime(r, now), detail: r }))),
    );
    const seenBy = new Map<string, Array<{ status: 'delivered' | 'read'; at: number }>>();
    // logged as the provider timed it (a retry of the same receipt is known by it), counted never
    // later than now: a read "in 2999" (a clock ahead, a forged field) would stay the contact's latest
    for (const l of logged)
      seenBy.set(l.attemptId, [...(seenBy.get(l.attemptId) ?? []), { status: l.status as 'delivered' | 'read', at: Math.min(l.at, now) }]);
    const moved = groups.flatMap((g) => {
      const seen = seenBy.get(g.attempt.id);
      return seen === undefined
        ? []
        : [{ attempt: g.attempt, seen, status: seen.some((x) => x.status === 'read') ? ('read' as const) : ('delivered' as const) }];
    });
    if (moved.length === 0) return;
    // delivered before read: a message with one attempt of each ends read, as in any order one by one
    await store.deliveriesMoved(
      moved.map((m) => ({ claim: m.attempt.claim, messageId: m.attempt.messageId, status: m.status })),
      moved.map((m) => ({ kind: 'timeout', messageId: m.attempt.messageId, step: m.attempt.step })),
      now,
    );
    // each contact's engagement, its attempts' receipts in the order they came
    const byContact = new Map<string, Array<{ channel: string; seen: Array<{ status: 'delivered' | 'read'; at: number }> }>>();
    for (const m of moved) {
      const contactId = m.attempt.contactId;
      if (contactId !== null) byContact.set(contactId, [...(byContact.get(contactId) ?? []), { channel: m.attempt.channel, seen: m.seen }]);
    }
    const rs = this.d.ruleset();
    await store.contacts.updateDataMany([...byContact.keys()], now, (id, c) =>
      (byContact.get(id) ?? []).reduce((out, x) => withEngagement(out, x.channel, x.seen, rs), c),
    );
  }
}
