import type { CompiledRuleset, Receipt } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { ContactRepository } from '../contacts/contact-repository.js';
import { withEngagement } from '../contacts/engagement.js';
import type { AttemptRepository, AttemptRow } from './attempt-repository.js';
import { ATTEMPT_FAILED, ATTEMPT_PROGRESS } from './attempt-status.js';
import type { FollowUpStore, FollowUps } from './follow-ups.js';
import type { ReceiptRepository } from './receipt-repository.js';

export interface ReceiptStore extends FollowUpStore {
  attempts: AttemptRepository;
  receipts: ReceiptRepository;
  contacts: ContactRepository;
  othersWaitingToWrite(): boolean;
}

/** A store that can open a transaction of its own (the root store). */
export interface TransactionalStore {
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

/** Receipts applied per commit (in order; the next chunk after the HTTP thread has breathed). */
const RECEIPTS_PER_COMMIT = 200;
const DAY = 86_400_000;
const PARKED_KEPT_MS = 7 * DAY;

const isDelivery = (r: Receipt) => r.status === 'delivered' || r.status === 'read';

/** When the provider says a receipt happened (`now` if its time does not parse). */
const receiptTime = (r: Receipt, now: number): number => {
  const at = Date.parse(r.at);
  return Number.isFinite(at) ? at : now;
};

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
   * another connection waits for the lock).
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
          // a message's delivered and read that come in one batch (as bulk gateways and the
          // sandbox report them) are applied together: one attempt, message and contact update
          let j = i + 1;
          while (j < list.length && isDelivery(r) && isDelivery(list[j] as Receipt) && list[j]?.providerMessageId === r.providerMessageId)
            j++;
          const attempt = j - i > 1 ? await tx.attempts.byProviderId(providerName, r.providerMessageId) : null;
          if (attempt !== null) {
            await this.deliveries(tx, attempt, list.slice(i, j));
            for (let k = i; k < j; k++) applied.push('applied');
          } else {
            for (let k = i; k < j; k++) applied.push(await this.one(tx, providerName, list[k] as Receipt));
          }
          i = j;
        }
        return applied;
      });
      out.push(...done);
    }
    return out;
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
  async applyParked(store: ReceiptStore, providerName: string, providerMessageId: string): Promise<void> {
    const parked = await store.receipts.takeParked(providerName, providerMessageId);
    for (const p of parked) {
      const attempt = await store.attempts.byProviderId(providerName, providerMessageId);
      if (attempt !== null) await this.applyTo(store, attempt, p);
    }
  }

  /**
   * `applyParked` for the sends recorded together in one transaction: what was parked for all of
   * them is taken in one statement per provider.
   */
  async applyParkedMany(store: ReceiptStore, sent: ReadonlyArray<{ provider: string; providerMessageId: string }>): Promise<void> {
    const byProvider = new Map<string, string[]>();
    for (const s of sent) byProvider.set(s.provider, [...(byProvider.get(s.provider) ?? []), s.providerMessageId]);
    for (const [providerName, ids] of byProvider) {
      const parked = await store.receipts.takeParkedMany(providerName, ids);
      for (const [providerMessageId, list] of parked)
        for (const p of list) {
          const attempt = await store.attempts.byProviderId(providerName, providerMessageId);
          if (attempt !== null) await this.applyTo(store, attempt, p);
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

  private async applyTo(store: ReceiptStore, attempt: AttemptRow, r: Receipt): Promise<void> {
    if (isDelivery(r)) {
      await this.deliveries(store, attempt, [r]);
      return;
    }
    const now = this.now();
    // the same receipt again (a provider's retry): what it did was done with it, in one transaction
    if (!(await store.receipts.add(attempt.id, r.status, receiptTime(r, now), r))) return;
    await store.attempts.update(attempt.claim, { status: r.status === 'failed' ? 'failed' : 'undelivered' }, now, ['claimed', 'sent']);
    // a redelivered receipt after a crash still leads to the fallback (afterFailed is idempotent);
    // a failure receipt after delivery changes nothing
    const current = await store.attempts.byClaim(attempt.claim);
    if (current !== null && ATTEMPT_FAILED.includes(current.status))
      await this.d.followUps.afterFailed(store, attempt.messageId, attempt.step);
  }

  /**
   * Delivered and read receipts of one attempt, in the order they came: each is recorded; the
   * attempt and the message move to the furthest status (never back), the delivery timeout is
   * cancelled, and the contact's engagement counts each receipt. The same as applying them one
   * by one, with one update of each record instead of one per receipt.
   */
  private async deliveries(
    store: ReceiptStore,
    attempt: AttemptRow & { contactId?: string | null },
    list: readonly Receipt[],
  ): Promise<void> {
    const now = this.now();
    // the same receipt again (a provider's retry) is neither logged nor counted a second time
    const seen = (
      await store.receipts.addMany(
        attempt.id,
        list.map((r) => ({ status: r.status, at: receiptTime(r, now), detail: r })),
      )
    ).map((r) => ({ status: r.status as 'delivered' | 'read', at: r.at }));
    if (seen.length === 0) return;
    const status = seen.some((s) => s.status === 'read') ? 'read' : 'delivered';
    await store.attempts.update(attempt.claim, { status }, now, ATTEMPT_PROGRESS.slice(0, ATTEMPT_PROGRESS.indexOf(status)));
    await store.messages.transition(
      attempt.messageId,
      status === 'read' ? ['queued', 'sent', 'delivered'] : ['queued', 'sent'],
      status,
      now,
    );
    await store.timers.cancel([{ kind: 'timeout', messageId: attempt.messageId, step: attempt.step }], now);
    const contactId = attempt.contactId !== undefined ? attempt.contactId : await store.messages.contactIdOf(attempt.messageId);
    if (contactId !== null)
      await store.contacts.updateData(contactId, now, (c) => withEngagement(c, attempt.channel, seen, this.d.ruleset()));
  }
}
