import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rulesetJsonSchema } from '../src/ruleset/json-schema.js';

const target = fileURLToPath(new URL('../ruleset.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(rulesetJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
