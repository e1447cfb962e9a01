import { type CompiledRuleset, loadRuleset } from '@signalbox/engine';
import type { AuditLog } from '../audit/audit-log.js';
import type { RulesRepository } from './rules-repository.js';

interface RulesStore {
  rules: RulesRepository;
  audit: AuditLog;
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

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
  async loadPublished(store: { rules: RulesRepository }): Promise<void> {
    const document = await store.rules.active();
    if (document !== null) this.active = loadRuleset(document);
  }

  /** Validates (throws RulesetInvalidError with every problem), stores, audits and activates. */
  async publish(store: RulesStore, document: unknown, actor: string, now: number): Promise<CompiledRuleset> {
    const compiled = loadRuleset(document);
    await store.transaction(async (tx) => {
      await tx.rules.publish(compiled.version, document, actor, now);
      await tx.audit.record(actor, 'rules.publish', compiled.version, { previous: this.active.version }, now);
    });
    this.active = compiled;
    for (const l of this.listeners) l(compiled);
    return compiled;
  }
}
