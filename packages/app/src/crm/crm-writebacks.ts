import type { Decision, IdentityKind } from '@signalbox/engine';
import { sql } from 'kysely';
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
  /** Written before, with an outcome or a cost that has moved on since: the record to write again. */
  logged: { recordId: string; kind: string; outcome: string | null } | null;
}

/** Messages written back to a CRM's timeline (once each, or given up on with the error). */
export class CrmWritebacks {
  constructor(private readonly c: Conn) {}

  /**
   * Messages that went out since `since` to contacts with an identity of `kind`, not written back to
   * `crm` yet, or written with an outcome that has moved on since (sent → delivered → read, or
   * failed), or with a cost that has (an attempt paid after the outcome was written).
   */
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
        'crm_writebacks.crm_record_id',
        'crm_writebacks.status as written_as',
        'crm_writebacks.outcome',
      ])
      .where('messages.updated_at', '>=', since)
      .where((eb) =>
        eb.or([
          eb.and([eb('crm_writebacks.message_id', 'is', null), eb('messages.status', 'in', [...MESSAGE_WENT])]),
          eb.and([
            eb('crm_writebacks.crm_record_id', 'is not', null),
            eb('crm_writebacks.status', '!=', 'failed'),
            eb('messages.status', 'in', [...MESSAGE_WENT, 'failed']),
            eb.or([
              eb('crm_writebacks.outcome', 'is', null),
              eb('crm_writebacks.outcome', '!=', eb.ref('messages.status')),
              // a millionth apart at least: the cost read back need not be the same double (a server
              // with extra_float_digits below 1 sends 15 digits), and a record written again and
              // again over a rounding would never settle
              eb.and([
                eb('crm_writebacks.cost', 'is not', null),
                sql<boolean>`abs(${sql.ref('messages.cost')} - ${sql.ref('crm_writebacks.cost')}) >= 0.000001`,
              ]),
            ]),
          ]),
        ]),
      )
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
      logged:
        r.crm_record_id === null || r.written_as === null ? null : { recordId: r.crm_record_id, kind: r.written_as, outcome: r.outcome },
    }));
  }

  /** Records a message written back, with the outcome and cost written (`failed`: given up on, with why). */
  async record(
    w: {
      messageId: string;
      crm: string;
      account: string;
      recordId: string | null;
      status: string;
      error: string | null;
      outcome?: string | null;
      cost?: number | null;
    },
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
        outcome: w.outcome ?? null,
        cost: w.cost ?? null,
      })
      // written again (its outcome or cost moved on): the record, the outcome and the cost now written
      .onConflict((oc) =>
        oc.columns(['message_id', 'crm']).doUpdateSet({
          crm_record_id: (eb) => eb.ref('excluded.crm_record_id'),
          status: (eb) => eb.ref('excluded.status'),
          error: (eb) => eb.ref('excluded.error'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
          outcome: (eb) => eb.ref('excluded.outcome'),
          cost: (eb) => eb.ref('excluded.cost'),
        }),
      )
      .execute();
  }
}
