import type { RenderedContent } from '@signalbox/engine';
import { sql } from 'kysely';
import type { Conn } from '../../db/connection.js';
import { inTransaction } from '../../db/transaction.js';

export interface SandboxSend {
  claim: string;
  providerMessageId: string;
  channel: string;
  address: string;
  content: string;
  /** What it was handed to send (absent: the template has no content). */
  rendered?: RenderedContent | undefined;
  /** When the provider was called (its durable write may come later). */
  at: number;
}

/** What the log says of one send it was handed. */
export interface SandboxRecorded {
  providerMessageId: string;
  /** The claim had been sent before: this is a retry of the same message. */
  duplicate: boolean;
  /** When the claim was first sent (ms). */
  at: number;
}

/**
 * The sandbox provider's own record of what it was asked to send: one row per idempotency claim,
 * whatever the retries (a retried send is not a second message; `calls` counts the tries).
 */
export class SandboxLog {
  constructor(private readonly c: Conn) {}

  /**
   * Several sends in one write (the sandbox coalesces concurrent calls); per send, in order, its
   * provider id, whether the claim had been sent before (then only its call count goes up) and
   * when it was first sent (a retry's answer names the first call's moment).
   */
  async record(list: readonly SandboxSend[]): Promise<SandboxRecorded[]> {
    const inserted = await this.c.db
      .insertInto('sandbox_sends')
      .values(
        list.map((s) => ({
          claim: s.claim,
          provider_message_id: s.providerMessageId,
          channel: s.channel,
          address: s.address,
          content: s.content,
          rendered: s.rendered === undefined ? null : JSON.stringify(s.rendered),
          at: s.at,
          calls: 1,
        })),
      )
      .onConflict((oc) => oc.column('claim').doNothing())
      .returning(['claim', 'provider_message_id'])
      .execute();
    const fresh = new Map(inserted.map((r) => [r.claim, r.provider_message_id]));
    if (fresh.size === list.length)
      return list.map((s) => ({ providerMessageId: fresh.get(s.claim) as string, duplicate: false, at: s.at }));
    // a claim sent before (or twice in this batch): one more call on the row already there
    return inTransaction(this.c, async (tx) => {
      const out: SandboxRecorded[] = [];
      for (const s of list) {
        const id = fresh.get(s.claim);
        if (id !== undefined) {
          fresh.delete(s.claim);
          out.push({ providerMessageId: id, duplicate: false, at: s.at });
          continue;
        }
        const existing = await tx.db
          .updateTable('sandbox_sends')
          .set({ calls: sql`calls + 1` })
          .where('claim', '=', s.claim)
          .returning(['provider_message_id', 'at'])
          .executeTakeFirstOrThrow();
        out.push({ providerMessageId: existing.provider_message_id, duplicate: true, at: Number(existing.at) });
      }
      return out;
    });
  }

  /** What the sandbox sent (on one channel), in the order it was called. */
  async sends(
    channel?: string,
  ): Promise<
    Array<{ claim: string; channel: string; address: string; content: string; rendered: RenderedContent | null; at: number; calls: number }>
  > {
    let q = this.c.db.selectFrom('sandbox_sends').selectAll();
    if (channel !== undefined) q = q.where('channel', '=', channel);
    const rows = await q.orderBy('at').orderBy('claim').execute();
    return rows.map((r) => ({
      claim: r.claim,
      channel: r.channel,
      address: r.address,
      content: r.content,
      rendered: r.rendered === null || r.rendered === undefined ? null : (JSON.parse(r.rendered) as RenderedContent),
      at: Number(r.at),
      calls: r.calls,
    }));
  }
}
