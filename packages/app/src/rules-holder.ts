import { type CompiledRuleset, loadRuleset } from '@signalbox/engine';
import type { Store } from './store/store.js';

/**
 * The active ruleset: compiled once per version, swapped atomically on publish, persisted in the
 * store (rules_versions) so every instance and every restart uses the published one.
 */
export class RulesHolder {
  private active: CompiledRuleset;
  private readonly listeners: Array<(rs: CompiledRuleset) => void> = [];

  constructor(initial: CompiledRuleset) {
    this.active = initial;
  }

  get = (): CompiledRuleset => this.active;

  /** Called after every publish (the worker thread keeps its own copy). */
  onChange(listener: (rs: CompiledRuleset) => void): void {
    this.listeners.push(listener);
  }

  /** Loads the latest published version from the store, if any (else keeps the initial one). */
  async loadPublished(store: Store): Promise<void> {
    const row = await store.db
      .selectFrom('rules_versions')
      .select(['document'])
      .where('active', '=', 1)
      .orderBy('published_at', 'desc')
      .executeTakeFirst();
    if (row) this.active = loadRuleset(JSON.parse(row.document));
  }

  /** Validates (throws RulesetInvalidError with every problem), stores, audits and activates. */
  async publish(store: Store, document: unknown, actor: string, now: number): Promise<CompiledRuleset> {
    const compiled = loadRuleset(document);
    await store.db.transaction().execute(async (trx) => {
      await trx.updateTable('rules_versions').set({ active: 0 }).where('active', '=', 1).execute();
      await trx
        .insertInto('rules_versions')
        .values({ version: compiled.version, document: JSON.stringify(document), active: 1, published_by: actor, published_at: now })
        .onConflict((oc) =>
          oc.column('version').doUpdateSet({ document: JSON.stringify(document), active: 1, published_by: actor, published_at: now }),
        )
        .execute();
    });
    await store.audit(actor, 'rules.publish', compiled.version, { previous: this.active.version }, now);
    this.active = compiled;
    for (const l of this.listeners) l(compiled);
    return compiled;
  }
}
