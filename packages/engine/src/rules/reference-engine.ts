import { Engine, Rule } from 'json-rules-engine';
import { STAGES, type Stage } from '../model/vocabulary.js';
import type { CompiledRule, CompiledRuleset } from '../ruleset/compile.js';
import type { Facts } from './compile-condition.js';
import { resolvePath, splitPath } from './path.js';

const pathResolver = (value: object, path: string): unknown => resolvePath(value, splitPath(path));

/**
 * json-rules-engine itself, as the reference semantics of our rule language. One Engine must never
 * run two evaluations at once (its status is shared by all runs), so each ruleset keeps a bounded
 * pool per stage: an evaluation borrows an idle engine, or builds one while fewer than `maxPerStage`
 * exist, or waits its turn; it gives the engine back when done.
 */
export class ReferenceEngines {
  private readonly idle = new Map<Stage, Engine[]>();
  private readonly count = new Map<Stage, number>();
  private readonly waiting = new Map<Stage, Array<(e: Engine) => void>>();
  private readonly byName = new Map<string, CompiledRule>();
  built = 0;

  constructor(
    private readonly rs: CompiledRuleset,
    private readonly maxPerStage = 8,
  ) {
    for (const s of STAGES) {
      this.idle.set(s, []);
      this.count.set(s, 0);
      this.waiting.set(s, []);
      for (const r of rs.rules[s]) this.byName.set(r.name, r);
    }
  }

  private borrow(stage: Stage): Promise<Engine> | Engine {
    const idle = this.idle.get(stage) as Engine[];
    const engine = idle.pop();
    if (engine !== undefined) return engine;
    const n = this.count.get(stage) as number;
    if (n < this.maxPerStage) {
      this.count.set(stage, n + 1);
      return this.build(stage);
    }
    return new Promise((resolve) => (this.waiting.get(stage) as Array<(e: Engine) => void>).push(resolve));
  }

  private giveBack(stage: Stage, engine: Engine): void {
    const next = (this.waiting.get(stage) as Array<(e: Engine) => void>).shift();
    if (next !== undefined) next(engine);
    else (this.idle.get(stage) as Engine[]).push(engine);
  }

  private build(stage: Stage): Engine {
    this.built++;
    const engine = new Engine([], { allowUndefinedFacts: true, pathResolver });
    for (const r of this.rs.rules[stage]) {
      engine.addRule(
        new Rule({
          name: r.name,
          priority: r.priority,
          conditions: r.source.conditions as never,
          event: { type: r.effect.type, params: { rule: r.name } },
        }),
      );
    }
    return engine;
  }

  /** The rules of `stage` that fire for these facts, in our order (priority, then document order). */
  async fire(stage: Stage, facts: Facts): Promise<CompiledRule[]> {
    const engine = await this.borrow(stage);
    try {
      const { results } = await engine.run({ ...facts });
      const fired = results.map((r) => this.byName.get(r.name as string)).filter((r): r is CompiledRule => r !== undefined);
      fired.sort((a, b) => b.priority - a.priority || a.order - b.order);
      return fired;
    } finally {
      this.giveBack(stage, engine);
    }
  }
}
