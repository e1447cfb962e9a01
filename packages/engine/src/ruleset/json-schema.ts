import { z } from 'zod';
import { rulesetSchema } from './schema.js';

/** The ruleset's JSON Schema (draft 2020-12), as published in `ruleset.schema.json`. */
export function rulesetJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rulesetSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://signalbox.dev/schemas/ruleset.schema.json' };
}
