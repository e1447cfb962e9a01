import type { Decision } from '@signalbox/engine';
import { type Conn, parseJson } from '../db/connection.js';
import type { MessageStatus } from '../messages/status.js';

/** A blocked workflow action whose message has settled: its callback can be completed. */
export interface SettledCallback {
  callbackId: string;
  account: string;
  messageId: string;
  status: MessageStatus;
  channel: string | null;
  cost: number;
  decision: Decision;
}

/** Workflow actions waiting for their message (a CRM blocked the workflow until we complete them). */
export class CrmCallbacks {
  constructor(private readonly c: Conn) {}

  async open(crm: string, account: string, callbackId: string, messageId: string, now: number): Promise<void> {
    await this.c.db
      .insertInto('crm_callbacks')
      .values({
        callback_id: callbackId,
        crm,
        portal_id: account,
        message_id: messageId,
        completed_at: null,
        outcome: null,
        created_at: now,
      })
      .onConflict((oc) => oc.column('callback_id').doNothing())
      .execute();
  }

  /** Open callbacks whose message is in one of the `settled` statuses. */
  async settled(crm: string, settled: readonly MessageStatus[], limit: number): Promise<SettledCallback[]> {
    const rows = await this.c.db
      .selectFrom('crm_callbacks')
      .innerJoin('messages', 'messages.id', 'crm_callbacks.message_id')
      .select([
        'crm_callbacks.callback_id',
        'crm_callbacks.portal_id',
        'messages.id as message_id',
        'messages.status',
        'messages.channel',
        'messages.cost',
        'messages.decision',
      ])
      .where('crm_callbacks.crm', '=', crm)
      .where('crm_callbacks.completed_at', 'is', null)
      .where('messages.status', 'in', [...settled])
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      callbackId: r.callback_id,
      account: r.portal_id,
      messageId: r.message_id,
      status: r.status as MessageStatus,
      channel: r.channel,
      cost: Number(r.cost),
      decision: parseJson(r.decision),
    }));
  }

  async close(callbackId: string, outcome: string, now: number): Promise<void> {
    await this.c.db
      .updateTable('crm_callbacks')
      .set({ completed_at: now, outcome: outcome.slice(0, 200) })
      .where('callback_id', '=', callbackId)
      .execute();
  }

  async get(callbackId: string): Promise<{ messageId: string; completedAt: number | null; outcome: string | null } | null> {
    const r = await this.c.db.selectFrom('crm_callbacks').selectAll().where('callback_id', '=', callbackId).executeTakeFirst();
    return r === undefined
      ? null
      : { messageId: r.message_id, completedAt: r.completed_at === null ? null : Number(r.completed_at), outcome: r.outcome };
  }
}
