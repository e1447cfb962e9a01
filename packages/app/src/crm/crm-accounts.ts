import type { Conn } from '../db/connection.js';

/** A connected CRM account (a HubSpot portal, a Salesforce org): its sealed tokens and whether it may be called. */
export interface CrmAccount {
  crm: string;
  account: string;
  /** Tokens as sealed at rest (see TokenCipher). */
  sealed: string;
  expiresAt: number;
  status: 'active' | 'disabled';
  statusReason: string | null;
  installedAt: number;
  updatedAt: number;
}

/** Connected CRM accounts, their tokens encrypted at rest. A disabled account is never called. */
export class CrmAccounts {
  constructor(private readonly c: Conn) {}

  async get(crm: string, account: string): Promise<CrmAccount | null> {
    const r = await this.c.db
      .selectFrom('crm_portals')
      .selectAll()
      .where('crm', '=', crm)
      .where('portal_id', '=', account)
      .executeTakeFirst();
    return r === undefined
      ? null
      : {
          crm: r.crm,
          account: r.portal_id,
          sealed: r.tokens,
          expiresAt: Number(r.expires_at),
          status: r.status as CrmAccount['status'],
          statusReason: r.status_reason,
          installedAt: Number(r.installed_at),
          updatedAt: Number(r.updated_at),
        };
  }

  /** Stores (or replaces) an account's tokens; it is active again. */
  async save(crm: string, account: string, sealed: string, expiresAt: number, now: number): Promise<void> {
    await this.c.db
      .insertInto('crm_portals')
      .values({
        crm,
        portal_id: account,
        tokens: sealed,
        expires_at: expiresAt,
        status: 'active',
        status_reason: null,
        installed_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc
          .columns(['crm', 'portal_id'])
          .doUpdateSet({ tokens: sealed, expires_at: expiresAt, status: 'active', status_reason: null, updated_at: now }),
      )
      .execute();
  }

  /** The account uninstalled us or revoked our tokens: never call it again until it reconnects. */
  async disable(crm: string, account: string, reason: string, now: number): Promise<void> {
    await this.c.db
      .updateTable('crm_portals')
      .set({ status: 'disabled', status_reason: reason.slice(0, 500), updated_at: now })
      .where('crm', '=', crm)
      .where('portal_id', '=', account)
      .execute();
  }

  async active(crm: string): Promise<string[]> {
    const rows = await this.c.db
      .selectFrom('crm_portals')
      .select('portal_id')
      .where('crm', '=', crm)
      .where('status', '=', 'active')
      .execute();
    return rows.map((r) => r.portal_id);
  }
}
