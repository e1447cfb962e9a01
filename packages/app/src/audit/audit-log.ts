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

/** Who did what, when and why: publishes, reviews, consent changes by staff, journey outcomes. */
export class AuditLog {
  constructor(private readonly c: Conn) {}

  async record(actor: string, action: string, subject: string, detail: unknown, now: number): Promise<void> {
    await this.c.db
      .insertInto('audit_log')
      .values({ id: uuidv7(now), at: now, actor, action, subject, detail: json(detail) })
      .execute();
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
