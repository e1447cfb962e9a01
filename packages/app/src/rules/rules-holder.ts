import { type CompiledRuleset, loadRuleset } from '@signalbox/engine';
import type { RulesRepository } from './rules-repository.js';

/**
 * The active ruleset of this process: compiled once per version and swapped atomically when a
 * version is published or rolled back to (`activate`); listeners (the worker thread's copy) hear
 * of every swap. Which version is active is kept in the store (`rule_active`).
 */
export class RulesHolder {
  private active: CompiledRuleset;
  /** The stored version that is active here (null: the one this process started with, not stored yet). */
  private number: number | null = null;
  private readonly listeners: Array<(rs: CompiledRuleset) => void> = [];

  constructor(initial: CompiledRuleset) {
    this.active = initial;
  }

  get = (): CompiledRuleset => this.active;

  /** The stored version number active here, if known. */
  get activeNumber(): number | null {
    return this.number;
  }

  /** Called after every swap (the worker thread keeps its own copy). */
  onChange(listener: (rs: CompiledRuleset) => void): void {
    this.listeners.push(listener);
  }

  /** Loads the active published version from the store, if any (else keeps the initial one). */
  async loadPublished(store: { rules: RulesRepository }): Promise<void> {
    const v = await store.rules.activeVersion();
    if (v === null) return;
    this.active = loadRuleset(v.document);
    this.number = v.number;
  }

  /** Makes a compiled ruleset the active one here and tells the listeners; `number` is its stored version. */
  activate(compiled: CompiledRuleset, number: number | null = null): void {
    this.active = compiled;
    this.number = number;
    for (const l of this.listeners) l(compiled);
  }
}
