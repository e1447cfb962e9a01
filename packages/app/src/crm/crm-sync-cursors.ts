import type { Conn } from '../db/connection.js';

/** Where a sync of one CRM account stands: `initial` paging, then the modified-since `sweep`. */
export interface SyncCursor {
  cursor: string | null;
  done: boolean;
  count: number;
  updatedAt: number;
  /** When it began (null: before this was recorded). */
  startedAt: number | null;
}

/** The initial sync, the changed-since sweep, and how far our consent changes have been written back. */
export type SyncKind = 'initial' | 'sweep' | 'consent';

/** Sync cursors per CRM account: a sync resumes from its cursor after a crash or a stop. */
export class CrmSyncCursors {
  constructor(private readonly c: Conn) {}

  async get(crm: string, account: string, kind: SyncKind): Promise<SyncCursor | null> {
    const r = await this.c.db
      .selectFrom('crm_sync')
      .selectAll()
      .where('crm', '=', crm)
      .where('portal_id', '=', account)
      .where('kind', '=', kind)
      .executeTakeFirst();
    return r === undefined
      ? null
      : {
          cursor: r.cursor,
          done: r.done === 1,
          count: r.count,
          updatedAt: Number(r.updated_at),
          startedAt: r.started_at === null ? null : Number(r.started_at),
        };
  }

  /** Starts a sync at `cursor` unless one of this kind exists already. */
  async begin(crm: string, account: string, kind: SyncKind, cursor: string | null, now: number): Promise<void> {
    await this.c.db
      .insertInto('crm_sync')
      .values({ crm, portal_id: account, kind, cursor, done: 0, count: 0, updated_at: now, started_at: now })
      .onConflict((oc) => oc.columns(['crm', 'portal_id', 'kind']).doNothing())
      .execute();
  }

  async save(
    crm: string,
    account: string,
    kind: SyncKind,
    s: { cursor: string | null; done: boolean; count: number },
    now: number,
  ): Promise<void> {
    const values = { cursor: s.cursor, done: s.done ? 1 : 0, count: s.count, updated_at: now };
    await this.c.db
      .insertInto('crm_sync')
      .values({ crm, portal_id: account, kind, ...values })
      .onConflict((oc) => oc.columns(['crm', 'portal_id', 'kind']).doUpdateSet(values))
      .execute();
  }

  /**
   * Claims a sync for `owner` until `until` when no other instance holds it (or its claim lapsed):
   * the sync's rounds run on one instance at a time. Renewing one's own claim always succeeds.
   */
  async claim(crm: string, account: string, kind: SyncKind, owner: string, now: number, until: number): Promise<boolean> {
    const r = await this.c.db
      .updateTable('crm_sync')
      .set({ owner, owner_until: until })
      .where('crm', '=', crm)
      .where('portal_id', '=', account)
      .where('kind', '=', kind)
      .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('owner_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Accounts whose initial sync has not finished. */
  async unfinished(crm: string): Promise<string[]> {
    const rows = await this.c.db
      .selectFrom('crm_sync')
      .select('portal_id')
      .where('crm', '=', crm)
      .where('kind', '=', 'initial')
      .where('done', '=', 0)
      .execute();
    return rows.map((r) => r.portal_id);
  }
}
