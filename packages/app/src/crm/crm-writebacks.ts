import type { Decision, IdentityKind } from '@signalbox/engine';
import { type Conn, parseJson } from '../db/connection.js';
import { MESSAGE_WENT } from '../messages/status.js';

/** A message that went out to a contact the CRM knows, not written back yet. */
export interface PendingWriteback {
  messageId: string;
  contactId: string;
  channel: string | null;
  template: string | null;
  type: string;
  decision: Decision;
  status: string;
  cost: number;
  updatedAt: number;
  /** The contact's identity in that CRM (`account:recordId`). */
  crmIdentity: string;
}

/** Messages written back to a CRM's timeline (once each, or given up on with the error). */
export class CrmWritebacks {
  constructor(private readonly c: Conn) {}

  /** Messages that went out since `since` to contacts with an identity of `kind`, not written back to `crm` yet. */
  async pending(crm: string, kind: IdentityKind, since: number, limit: number): Promise<PendingWriteback[]> {
    const rows = await this.c.db
      .selectFrom('messages')
      .innerJoin('identities', (j) => j.onRef('identities.contact_id', '=', 'messages.contact_id').on('identities.kind', '=', kind))
      .leftJoin('crm_writebacks', (j) => j.onRef('crm_writebacks.message_id', '=', 'messages.id').on('crm_writebacks.crm', '=', crm))
      .select([
        'messages.id',
        'messages.contact_id',
        'messages.channel',
        'messages.template',
        'messages.type',
        'messages.decision',
        'messages.status',
        'messages.cost',
        'messages.updated_at',
        'identities.value as crm_identity',
      ])
      .where('messages.status', 'in', [...MESSAGE_WENT])
      .where('messages.updated_at', '>=', since)
      .where('crm_writebacks.message_id', 'is', null)
      .orderBy('messages.updated_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      messageId: r.id,
      contactId: r.contact_id,
      channel: r.channel,
      template: r.template,
      type: r.type,
      decision: parseJson(r.decision),
      status: r.status,
      cost: Number(r.cost),
      updatedAt: Number(r.updated_at),
      crmIdentity: r.crm_identity,
    }));
  }

  /** Records a message written back (`failed`: given up on, with why). */
  async record(
    w: { messageId: string; crm: string; account: string; recordId: string | null; status: string; error: string | null },
    now: number,
  ): Promise<void> {
    await this.c.db
      .insertInto('crm_writebacks')
      .values({
        message_id: w.messageId,
        crm: w.crm,
        portal_id: w.account,
        crm_record_id: w.recordId,
        status: w.status,
        error: w.error === null ? null : w.error.slice(0, 500),
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['message_id', 'crm']).doNothing())
      .execute();
  }
}
