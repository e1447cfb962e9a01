import { Engine, Rule } from 'json-rules-engine';
import { STAGES, type Stage } from '../model/vocabulary.js';
import type { CompiledRule, CompiledRuleset } from '../ruleset/compile.js';
import type { Facts } from './compile-condition.js';
import { resolvePath, splitPath } from './path.js';

const pathResolver = (value: object, path: string): unknown => resolvePath(value, splitPath(path));

/**
 * json-rules-engine itself, as the reference semantics of our rule language. One Engine must never
 * run two evaluations at once (its status is shared by all runs), so each ruleset keeps a pool per
 * stage: an evaluation takes an engine, and gives it back when done; a new one is built when the
 * pool is empty.
 */
export class ReferenceEngines {
  private readonly pools = new Map<Stage, Engine[]>();
  private readonly byName = new Map<string, CompiledRule>();
  built = 0;

  constructor(private readonly rs: CompiledRuleset) {
    for (const s of STAGES) {
      this.pools.set(s, []);
      for (const r of rs.rules[s]) this.byName.set(r.name, r);
    }
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
    const pool = this.pools.get(stage) as Engine[];
    const engine = pool.pop() ?? this.build(stage);
    try {
      const { results } = await engine.run({ ...facts });
      const fired = results.map((r) => this.byName.get(r.name as string)).filter((r): r is CompiledRule => r !== undefined);
      fired.sort((a, b) => b.priority - a.priority || a.order - b.order);
      return fired;
    } finally {
      pool.push(engine);
    }
  }
}
