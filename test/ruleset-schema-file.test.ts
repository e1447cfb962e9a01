/** The JSON Schema file editors use is the one the engine generates (kept in step by `pnpm --filter @signalbox/engine schema`). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rulesetJsonSchema } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';

describe('packages/engine/ruleset.schema.json', () => {
  it('is the schema generated from the code', () => {
    const file = fileURLToPath(new URL('../packages/engine/ruleset.schema.json', import.meta.url));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(rulesetJsonSchema());
  });
});
