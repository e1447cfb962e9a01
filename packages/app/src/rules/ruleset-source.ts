import { readFileSync } from 'node:fs';
import { type CompiledRuleset, DEFAULT_RULESET } from '@signalbox/engine';
import { loadRulesetChecked } from '../content/template-check.js';

/** Loads the ruleset file named in config, or the default one shipped with the engine. */
export function loadRulesetFile(path: string | undefined): CompiledRuleset {
  if (path === undefined) return loadRulesetChecked(DEFAULT_RULESET);
  return loadRulesetChecked(readJsonFile(path));
}

export class JsonFileError extends Error {}

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new JsonFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JsonFileError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}
