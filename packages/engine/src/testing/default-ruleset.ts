import defaultRuleset from '../../rulesets/default.json' with { type: 'json' };
import { type CompiledRuleset, loadRuleset } from '../ruleset/compile.js';

/** The default ruleset document, as shipped. */
export const defaultRulesetDocument: unknown = defaultRuleset;

let compiled: CompiledRuleset | undefined;
export function defaultCompiledRuleset(): CompiledRuleset {
  compiled ??= loadRuleset(defaultRuleset);
  return compiled;
}
