import { DEFAULT_RULESET } from '../default-ruleset.js';
import { type CompiledRuleset, loadRuleset } from '../ruleset/compile.js';

/** The default ruleset document, as shipped. */
export const defaultRulesetDocument: unknown = DEFAULT_RULESET;

let compiled: CompiledRuleset | undefined;
export function defaultCompiledRuleset(): CompiledRuleset {
  compiled ??= loadRuleset(DEFAULT_RULESET);
  return compiled;
}
