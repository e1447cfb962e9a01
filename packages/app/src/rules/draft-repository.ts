import type { Problem } from '@signalbox/engine';
import type { Conn } from '../db/connection.js';
import type { RuleDraftsTable } from '../db/schema.js';

export interface Draft {
  id: string;
  label: string | null;
  document: unknown;
  hash: string;
  valid: boolean;
  problems: Problem[];
  author: string;
  createdAt: number;
}

export type DraftInfo = Omit<Draft, 'document'>;

const toDraft = (r: RuleDraftsTable): Draft => ({
  id: r.id,
  label: r.label,
  document: JSON.parse(r.document),
  hash: r.hash,
  valid: Number(r.valid) === 1,
  problems: JSON.parse(r.problems) as Problem[],
  author: r.author,
  createdAt: Number(r.created_at),
});

/** Candidate rulesets, stored as written (valid or not, with their problems), never active. */
export class DraftRepository {
  constructor(private readonly c: Conn) {}

  async save(d: Draft): Promise<void> {
    await this.c.db
      .insertInto('rule_drafts')
      .values({
        id: d.id,
        label: d.label,
        document: JSON.stringify(d.document),
        hash: d.hash,
        valid: d.valid ? 1 : 0,
        problems: JSON.stringify(d.problems),
        author: d.author,
        created_at: d.createdAt,
      })
      .execute();
  }

  async get(id: string): Promise<Draft | null> {
    const r = await this.c.db.selectFrom('rule_drafts').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? null : toDraft(r);
  }

  /** Drafts newest first; `before` (the last id of the previous page) pages on. */
  async list(limit: number, before?: string): Promise<DraftInfo[]> {
    let q = this.c.db.selectFrom('rule_drafts').selectAll();
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => {
      const { document: _d, ...rest } = toDraft(r);
      return rest;
    });
  }
}
