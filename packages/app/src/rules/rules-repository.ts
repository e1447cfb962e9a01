import type { Conn } from '../db/connection.js';

/** Published rulesets; one is active. */
export class RulesRepository {
  constructor(private readonly c: Conn) {}

  /** The active ruleset's document (as published), if any was ever published. */
  async active(): Promise<unknown | null> {
    const row = await this.c.db
      .selectFrom('rules_versions')
      .select(['document'])
      .where('active', '=', 1)
      .orderBy('published_at', 'desc')
      .executeTakeFirst();
    return row === undefined ? null : JSON.parse(row.document);
  }

  /** Stores a version and makes it the active one (one transaction: pass a transaction's connection). */
  async publish(version: string, document: unknown, actor: string, now: number): Promise<void> {
    const text = JSON.stringify(document);
    await this.c.db.updateTable('rules_versions').set({ active: 0 }).where('active', '=', 1).execute();
    await this.c.db
      .insertInto('rules_versions')
      .values({ version, document: text, active: 1, published_by: actor, published_at: now })
      .onConflict((oc) => oc.column('version').doUpdateSet({ document: text, active: 1, published_by: actor, published_at: now }))
      .execute();
  }
}
