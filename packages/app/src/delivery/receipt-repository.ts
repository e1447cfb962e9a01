import type { Receipt, ReceiptStatus } from '@signalbox/engine';
import { type Conn, json } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { uuidv7 } from '../ids.js';

/** Parked receipts are applied in this order (a message's delivered before its read). */
const PARKED_ORDER: readonly ReceiptStatus[] = ['delivered', 'read', 'undelivered', 'failed'];

/**
 * Providers' receipts: the log per attempt, and receipts parked because they beat the send's own
 * bookkeeping (the provider's id was not recorded yet).
 */
export class ReceiptRepository {
  constructor(private readonly c: Conn) {}

  /**
   * Logs a receipt of an attempt; false (and nothing logged) when the same receipt (status and
   * time) is logged already: a provider retrying its webhook, or a batch made again.
   */
  async add(attemptId: string, status: ReceiptStatus, at: number, detail: unknown): Promise<boolean> {
    const seen = await prepared(
      this.c,
      'receipt logged',
      (d) =>
        d
          .selectFrom('receipts')
          .select('id')
          .where('attempt_id', '=', arg(0))
          .where('status', '=', arg(1))
          .where('at', '=', arg(2))
          .limit(1),
      [attemptId, status, at],
    );
    if (seen.rows.length > 0) return false;
    await prepared(
      this.c,
      'add receipt',
      (d) => d.insertInto('receipts').values({ id: arg(0), attempt_id: arg(1), status: arg(2), at: arg(3), detail: arg(4) }),
      [uuidv7(at), attemptId, status, at, json(detail)],
    );
    return true;
  }

  async forAttempts(attemptIds: readonly string[]): Promise<Array<{ attemptId: string; status: ReceiptStatus; at: number }>> {
    if (attemptIds.length === 0) return [];
    const rows = await this.c.db
      .selectFrom('receipts')
      .select(['attempt_id', 'status', 'at'])
      .where('attempt_id', 'in', [...attemptIds])
      .orderBy('at')
      .execute();
    return rows.map((r) => ({ attemptId: r.attempt_id, status: r.status as ReceiptStatus, at: Number(r.at) }));
  }

  /** Parks a receipt whose provider id is not known yet (it raced the send). */
  async park(provider: string, r: Receipt, now: number): Promise<void> {
    await this.c.db
      .insertInto('pending_receipts')
      .values({ provider, provider_message_id: r.providerMessageId, status: r.status, at: r.at, received_at: now })
      .onConflict((oc) => oc.columns(['provider', 'provider_message_id', 'status']).doNothing())
      .execute();
  }

  /** Takes the parked receipts of a provider id: whoever deletes a row applies it, exactly once. */
  async takeParked(provider: string, providerMessageId: string): Promise<Receipt[]> {
    const { rows } = await prepared(
      this.c,
      'take parked receipts',
      (d) => d.deleteFrom('pending_receipts').where('provider', '=', arg(0)).where('provider_message_id', '=', arg(1)).returningAll(),
      [provider, providerMessageId],
    );
    return rows
      .map((r) => ({ providerMessageId: r.provider_message_id, status: r.status as ReceiptStatus, at: r.at }))
      .sort((a, b) => PARKED_ORDER.indexOf(a.status) - PARKED_ORDER.indexOf(b.status));
  }

  /** Parked receipts whose send has been recorded since (a race the two sides both missed). */
  async parkedNowKnown(limit: number): Promise<Array<{ provider: string; providerMessageId: string }>> {
    const rows = await this.c.db
      .selectFrom('pending_receipts')
      .innerJoin('attempts', (j) =>
        j
          .onRef('attempts.provider', '=', 'pending_receipts.provider')
          .onRef('attempts.provider_message_id', '=', 'pending_receipts.provider_message_id'),
      )
      .select(['pending_receipts.provider', 'pending_receipts.provider_message_id'])
      .distinct()
      .limit(limit)
      .execute();
    return rows.map((r) => ({ provider: r.provider, providerMessageId: r.provider_message_id }));
  }

  /** Drops parked receipts no send ever claimed (a provider's mistake, or another system's ids). */
  async dropParkedBefore(before: number): Promise<number> {
    const r = await this.c.db.deleteFrom('pending_receipts').where('received_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
