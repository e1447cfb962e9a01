import { type Conn, json, parseJson } from '../db/connection.js';
import { uuidv7 } from '../ids.js';

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: unknown;
}

export interface AuditFilter {
  action?: string | undefined;
  actor?: string | undefined;
  subject?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** Who did what, when and why: publishes, reviews, consent changes by staff, journey outcomes. */
export class AuditLog {
  constructor(private readonly c: Conn) {}

  async record(actor: string, action: string, subject: string, detail: unknown, now: number): Promise<void> {
    await this.c.db
      .insertInto('audit_log')
      .values({ id: uuidv7(now), at: now, actor, action, subject, detail: json(detail) })
      .execute();
  }

  /**
   * Entries newest first, filtered (`action` ending in `.*` matches every action under it:
   * `rules.*`), paged by the (at, id) of the last entry of the previous page.
   */
  async page(f: AuditFilter, limit: number, after?: { at: number; id: string }): Promise<AuditEntry[]> {
    let q = this.c.db.selectFrom('audit_log').selectAll();
    if (f.action !== undefined)
      q = f.action.endsWith('.*') ? q.where('action', 'like', `${f.action.slice(0, -1)}%`) : q.where('action', '=', f.action);
    if (f.actor !== undefined) q = q.where('actor', '=', f.actor);
    if (f.subject !== undefined) q = q.where('subject', '=', f.subject);
    if (f.from !== undefined) q = q.where('at', '>=', f.from);
    if (f.to !== undefined) q = q.where('at', '<', f.to);
    if (after !== undefined)
      q = q.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      detail: parseJson(r.detail),
    }));
  }

  /** Entries of one action (or all), oldest first. */
  async list(filter: { action?: string; subject?: string } = {}, limit = 500): Promise<AuditEntry[]> {
    let q = this.c.db.selectFrom('audit_log').selectAll();
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
    const rows = await q.orderBy('at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      detail: parseJson(r.detail),
    }));
  }
}
