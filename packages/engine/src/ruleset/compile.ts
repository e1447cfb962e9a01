import type { z } from 'zod';
import { type Problem, pointerSegment, RulesetInvalidError } from '../errors.js';
import { MESSAGE_TYPES, type MessageType, STAGES, type Stage } from '../model/vocabulary.js';
import { type CompiledCondition, compileCondition, type Facts } from '../rules/compile-condition.js';
import { parseHhmm, type Window } from '../time/zoned.js';
import { journeyLoopProblems } from './journey-loops.js';
import { type Condition, type Effect, type Rule, type Ruleset, rulesetSchema, type TopLevelCondition } from './schema.js';
import { validateSemantics } from './validate.js';
import { zodProblems } from './zod-problems.js';

export interface CompiledRule {
  name: string;
  stage: Stage;
  priority: number;
  /** Position in the document: the tie-breaker after priority. */
  order: number;
  effect: Effect;
  test: CompiledCondition;
  /** Message types the rule can fire for (from its top-level conditions); null = any. */
  messageTypes: ReadonlySet<MessageType> | null;
  source: Rule;
}

export interface CompiledRuleset {
  version: string;
  source: Ruleset;
  /** Enabled rules per stage, priority order (then document order). */
  rules: Record<Stage, readonly CompiledRule[]>;
  /** The same, indexed by message type: only the rules that can apply. */
  index: Record<Stage, Record<MessageType, readonly CompiledRule[]>>;
  quietWindows: { default: Window; markets: ReadonlyMap<string, Window> };
  /**
   * Per message type, the `fact` and `fact.first-segment` names its indexed rules read: facts no
   * applicable rule reads are never built (an OTP never derives suppression windows).
   */
  factNeeds: Record<MessageType, ReadonlySet<string>>;
  /** The `market` fact per declared market, built once (facts are never mutated). */
  marketFacts: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  journeyTriggers: ReadonlyMap<string, readonly string[]>;
  compiledJourneyConditions: ReadonlyMap<string, CompiledCondition>;
  /** The compiled evaluator bound to this ruleset: the indexed rules whose closures hold. */
  evaluate: (stage: Stage, type: MessageType, facts: Facts) => CompiledRule[];
}

/**
 * Validates a ruleset document completely (schema, then references and semantics) and compiles
 * it. Throws RulesetInvalidError listing every problem with its JSON pointer; a ruleset that
 * returns from here cannot fail later for being malformed.
 */
export function loadRuleset(input: unknown): CompiledRuleset {
  const parsed = rulesetSchema.safeParse(input);
  if (!parsed.success) throw new RulesetInvalidError(withSemanticProblems(input, zodProblems(parsed.error.issues)));
  const rs = ownKeysOnly(parsed.data);
  const problems = validateSemantics(rs);
  if (problems.length > 0) throw new RulesetInvalidError(problems);
  return compileRuleset(rs);
}

/**
 * Every `__proto__` key of a document (JSON.parse makes it an own key): a name → value section
 * parsed into a plain object drops it (assigning `__proto__` sets the prototype), so a channel or
 * template under that name was validated as absent, then stored, hashed and diffed as if it were not
 * there. Validation refuses it at its path (`validateRuleset`, and the app's publish checks);
 * `loadRuleset` still drops it, so a version stored before it was refused loads as it always did.
 */
export function prototypeKeys(input: unknown): Problem[] {
  const found: Problem[] = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (found.length >= 20 || depth > 64 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${i}`, depth + 1));
    else
      for (const k of Object.keys(v)) {
        const at = `${path}/${pointerSegment(k)}`;
        if (k === '__proto__')
          found.push({ path: at, message: '"__proto__" cannot be a name here (it is reserved in JavaScript objects)' });
        else walk((v as Record<string, unknown>)[k], at, depth + 1);
      }
  };
  walk(input, '', 0);
  return found;
}

/** A copy of a name → value section that holds its own names only (no prototype). */
const dict = <T>(o: Record<string, T>): Record<string, T> => Object.assign(Object.create(null) as Record<string, T>, o);

/**
 * The ruleset with every section looked up by a name from outside (a channel, template, market,
 * suppression, event source) holding its own names only: a request naming a template
 * `constructor` or a channel `__proto__` finds nothing, as for any name not declared, instead of
 * what every object inherits.
 */
function ownKeysOnly(rs: Ruleset): Ruleset {
  return {
    ...rs,
    channels: dict(rs.channels),
    prices: {
      ...rs.prices,
      default: dict(rs.prices.default),
      markets: dict(Object.fromEntries(Object.entries(rs.prices.markets).map(([m, p]) => [m, dict(p)]))),
    },
    markets: dict(rs.markets),
    quietHours: { ...rs.quietHours, markets: dict(rs.quietHours.markets) },
    suppressions: dict(rs.suppressions),
    templates: dict(rs.templates),
    eventMap: dict(rs.eventMap),
  };
}

/**
 * The schema's problems, and the semantic ones of the parts that do parse: a rule or journey that
 * fails the schema is left out of the semantic pass (a hole at its index, so every other pointer
 * stays right); when any other section fails, references cannot be checked and only the schema's
 * problems are reported. A semantic problem inside a part the schema already refused is not repeated.
 */
function withSemanticProblems(input: unknown, schemaProblems: Problem[]): Problem[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return schemaProblems;
  const doc = input as Record<string, unknown>;
  const { rules, journeys, ...sections } = rulesetSchema.shape;
  const partial: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(sections)) {
    const r = (schema as z.ZodType).safeParse(doc[key]);
    if (!r.success) return schemaProblems;
    if (r.data !== undefined) partial[key] = r.data;
  }
  if (Object.keys(doc).some((k) => !Object.hasOwn(rulesetSchema.shape, k))) return schemaProblems;
  for (const [key, element] of [
    ['rules', rules.element],
    ['journeys', journeys.unwrap().element],
  ] as const) {
    const list = doc[key] ?? [];
    if (!Array.isArray(list)) return schemaProblems;
    const holes: unknown[] = new Array(list.length);
    list.forEach((item, i) => {
      const r = (element as z.ZodType).safeParse(item);
      if (r.success) holes[i] = r.data;
    });
    partial[key] = holes;
  }
  const refused = schemaProblems.map((x) => x.path);
  const covered = (path: string) => refused.some((r) => path === r || path.startsWith(`${r}/`) || r.startsWith(`${path}/`));
  const semantic = validateSemantics(partial as Ruleset).filter((x) => !covered(x.path));
  return [...schemaProblems, ...semantic];
}

/** Validation only: the problems, empty when the ruleset is good. */
export function validateRuleset(input: unknown): { ok: true; ruleset: Ruleset } | { ok: false; problems: RulesetInvalidError['problems'] } {
  const reserved = prototypeKeys(input);
  if (reserved.length > 0) return { ok: false, problems: reserved };
  try {
    const ruleset = loadRuleset(input).source;
    const loops = journeyLoopProblems(ruleset);
    return loops.length > 0 ? { ok: false, problems: loops } : { ok: true, ruleset };
  } catch (e) {
    if (e instanceof RulesetInvalidError) return { ok: false, problems: e.problems };
    throw e;
  }
}

function compileRuleset(rs: Ruleset): CompiledRuleset {
  const rules = Object.fromEntries(STAGES.map((s) => [s, [] as CompiledRule[]])) as Record<Stage, CompiledRule[]>;
  rs.rules.forEach((rule, order) => {
    if (!rule.enabled) return;
    rules[rule.stage].push({
      name: rule.name,
      stage: rule.stage,
      priority: rule.priority,
      order,
      effect: rule.event,
      test: compileCondition(rule.conditions),
      messageTypes: staticMessageTypes(rule.conditions),
      source: rule,
    });
  });
  for (const s of STAGES) rules[s].sort((a, b) => b.priority - a.priority || a.order - b.order);

  const index = Object.fromEntries(
    STAGES.map((s) => [
      s,
      Object.fromEntries(MESSAGE_TYPES.map((t) => [t, rules[s].filter((r) => r.messageTypes === null || r.messageTypes.has(t))])),
    ]),
  ) as unknown as CompiledRuleset['index'];

  const win = (w: { start: string; end: string }): Window => ({ start: parseHhmm(w.start), end: parseHhmm(w.end) % 1440 || 1440 });
  const triggers = new Map<string, string[]>();
  const journeyConditions = new Map<string, CompiledCondition>();
  for (const j of rs.journeys) {
    triggers.set(j.trigger.event, [...(triggers.get(j.trigger.event) ?? []), j.id]);
    if (j.trigger.conditions) journeyConditions.set(`${j.id}#trigger`, compileCondition(j.trigger.conditions));
    for (const s of j.steps) if (s.type === 'branch') journeyConditions.set(`${j.id}#${s.id}`, compileCondition(s.conditions));
  }

  const factNeeds = Object.fromEntries(
    MESSAGE_TYPES.map((t) => {
      const needs = new Set<string>();
      for (const s of STAGES) for (const r of index[s][t]) collectNeeds(r.source.conditions, needs);
      return [t, needs];
    }),
  ) as Record<MessageType, Set<string>>;
  const marketFacts = new Map(
    Object.entries(rs.markets).map(([code, m]) => [
      code,
      Object.freeze({
        code,
        name: m.name,
        timezone: m.timezone,
        featurePhone: m.featurePhone,
        primaryMessenger: m.messengers[0] ?? null,
        messengers: m.messengers,
        channels: m.channels,
      }),
    ]),
  );

  const evaluate = (stage: Stage, type: MessageType, facts: Facts): CompiledRule[] => {
    const out: CompiledRule[] = [];
    for (const r of index[stage][type]) if (r.test(facts)) out.push(r);
    return out;
  };

  return {
    version: rs.version,
    evaluate,
    factNeeds,
    marketFacts,
    source: rs,
    rules,
    index,
    quietWindows: {
      default: win(rs.quietHours.default),
      markets: new Map(Object.entries(rs.quietHours.markets).map(([m, w]) => [m, win(w)])),
    },
    journeyTriggers: triggers,
    compiledJourneyConditions: journeyConditions,
  };
}

/**
 * Reads the message types a rule is limited to from a top-level `all` that holds
 * `message.type equal X` or `message.type in [..]`. Anything else: no limit.
 */
function staticMessageTypes(c: TopLevelCondition): ReadonlySet<MessageType> | null {
  if (!('all' in c)) return null;
  const constraints: MessageType[][] = [];
  for (const leaf of c.all) {
    if (!('fact' in leaf) || leaf.fact !== 'message' || leaf.path !== 'type') continue;
    const v = leaf.value;
    if (leaf.operator === 'equal' && typeof v === 'string') constraints.push([v as MessageType]);
    if (leaf.operator === 'in' && Array.isArray(v)) constraints.push(v.filter((x) => typeof x === 'string') as MessageType[]);
  }
  if (constraints.length === 0) return null;
  return new Set(MESSAGE_TYPES.filter((t) => constraints.every((list) => list.includes(t))));
}

function collectNeeds(c: TopLevelCondition | Condition, out: Set<string>): void {
  if ('all' in c) for (const x of c.all) collectNeeds(x, out);
  else if ('any' in c) for (const x of c.any) collectNeeds(x, out);
  else if ('not' in c) collectNeeds(c.not, out);
  else {
    const add = (fact: string, path: string | undefined) => {
      out.add(fact);
      if (path !== undefined) out.add(`${fact}.${path.split('.')[0]}`);
    };
    add(c.fact, c.path);
    const v = c.value;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) add(v.fact, v.path);
  }
}
