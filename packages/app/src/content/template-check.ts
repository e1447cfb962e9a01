import {
  type CompiledRuleset,
  journeyLoopProblems,
  loadRuleset,
  type Problem,
  pointerSegment,
  prototypeKeys,
  type Ruleset,
  RulesetInvalidError,
  type Template,
  validateRuleset,
} from '@signalbox/engine';
import { LiquidTemplates } from './liquid.js';

/** Scope roots every template may read besides its declared variables. */
const GIVEN = new Set(['contact', 'object']);
/** Fields that are not Liquid (ids, keys, names, URLs checked by the schema). */
const LITERAL = new Set(['id', 'key', 'name', 'language', 'voice', 'mediaUrl']);

const liquid = new LiquidTemplates();

/**
 * What the engine's schema cannot check about template content, because it takes the template
 * language: every Liquid field parses, and reads only the template's declared variables
 * (`variables`, `optionalVariables`), `contact` and `object`. Each problem names its JSON pointer.
 */
export function templateProblems(rs: Ruleset): Problem[] {
  const problems: Problem[] = [];
  for (const [name, t] of Object.entries(rs.templates)) {
    if (t.content === undefined) continue;
    const declared = new Set([...t.variables, ...t.optionalVariables]);
    walk(t.content, `/templates/${pointerSegment(name)}/content`, (source, path) => {
      let roots: string[];
      try {
        roots = liquid.roots(source);
      } catch (e) {
        problems.push({ path, message: `does not parse as Liquid: ${(e as Error).message.split('\n')[0]}` });
        return;
      }
      for (const root of roots) {
        if (!GIVEN.has(root) && !declared.has(root))
          problems.push({
            path,
            message: `uses variable "${root}", which template ${name} does not declare in variables or optionalVariables`,
          });
      }
    });
    checkUnused(t, name, problems);
  }
  return problems;
}

/** A required variable no content reads is a mistake too (requests would carry it for nothing). */
function checkUnused(t: Template, name: string, problems: Problem[]): void {
  const read = new Set<string>();
  walk(t.content ?? {}, '', (source) => {
    try {
      for (const r of liquid.roots(source)) read.add(r);
    } catch {
      // reported above
    }
  });
  t.variables.forEach((v, i) => {
    if (!read.has(v))
      problems.push({ path: `/templates/${pointerSegment(name)}/variables/${i}`, message: `variable "${v}" is never used by the content` });
  });
}

function walk(node: unknown, path: string, visit: (source: string, path: string) => void): void {
  if (typeof node === 'string') visit(node, path);
  else if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}/${i}`, visit));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) if (!LITERAL.has(k)) walk(v, `${path}/${pointerSegment(k)}`, visit);
  }
}

const needs = new WeakMap<Template, boolean>();

/**
 * Whether some variant of a template cannot render without the CRM object: it shows `object`
 * outside an `{% if %}`/`{% unless %}` that tests it, and not through `| default` (strict Liquid
 * fails the render then; `{{ object.id | default: 'your invoice' }}` and `{% if object %}…` do not).
 */
export function needsObject(t: Template): boolean {
  let r = needs.get(t);
  if (r === undefined) {
    let found = false;
    walk(t.content ?? {}, '', (source) => {
      if (!found && showsObjectUnguarded(source)) found = true;
    });
    r = found;
    needs.set(t, r);
  }
  return r;
}

const TOKEN = /(\{%-?[\s\S]*?-?%\}|\{\{-?[\s\S]*?-?\}\})/;
const OBJECT = /(^|[^\w.])object\b/;
const unquoted = (s: string) => s.replace(/'[^']*'|"[^"]*"/g, "''");

function showsObjectUnguarded(source: string): boolean {
  if (!source.includes('object')) return false;
  const guards: boolean[] = [];
  for (const token of source.split(TOKEN)) {
    const tag = /^\{%-?\s*(\w+)([\s\S]*?)-?%\}$/.exec(token);
    const out = /^\{\{-?([\s\S]*?)-?\}\}$/.exec(token);
    const guarded = guards.includes(true);
    if (tag !== null) {
      const [, name = '', args = ''] = tag;
      if (name === 'if' || name === 'unless') guards.push(OBJECT.test(unquoted(args)));
      else if (name === 'endif' || name === 'endunless') guards.pop();
      else if (name !== 'elsif' && name !== 'else' && !guarded && OBJECT.test(unquoted(args))) return true;
    } else if (out !== null && !guarded) {
      const expr = unquoted(out[1] ?? '');
      if (OBJECT.test(expr) && !/\|\s*default\b/.test(expr)) return true;
    }
  }
  return false;
}

/** loadRuleset, then the content checks: what a ruleset must pass to be published or served. */
export function loadRulesetChecked(document: unknown): CompiledRuleset {
  const reserved = prototypeKeys(document);
  if (reserved.length > 0) throw new RulesetInvalidError(reserved);
  const compiled = loadRuleset(document);
  const problems = [...journeyLoopProblems(compiled.source), ...templateProblems(compiled.source)];
  if (problems.length > 0) throw new RulesetInvalidError(problems);
  return compiled;
}

/** validateRuleset, then the content checks. */
export function validateRulesetChecked(document: unknown): ReturnType<typeof validateRuleset> {
  const v = validateRuleset(document);
  if (!v.ok) return v;
  const problems = templateProblems(v.ruleset);
  return problems.length > 0 ? { ok: false, problems } : v;
}
