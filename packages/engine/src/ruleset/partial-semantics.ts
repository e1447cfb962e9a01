import type { Problem } from '../errors.js';
import { rulesetSchema } from './schema.js';
import { validateSemantics } from './validate.js';

/** Lists whose items stand alone: a broken item can be set aside and the rest still checked. */
const ITEM_LISTS = ['rules', 'journeys', 'caps'] as const;

/**
 * The semantic problems (unknown fact path, undeclared channel, a journey's missing template …)
 * of a document that failed the schema, when its schema problems are all inside items of
 * /rules, /journeys or /caps: those items are set aside, the rest is parsed and checked, and the
 * problems found point into the original document. Anything else broken (a channel, a market,
 * the document's shape) gives no semantic problems: they would rest on a guess.
 */
export function semanticsBesideSchemaProblems(input: unknown, schemaProblems: readonly Problem[]): Problem[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return [];
  const doc = input as Record<string, unknown>;
  const broken = new Map<string, Set<number>>(ITEM_LISTS.map((l) => [l, new Set<number>()]));
  for (const p of schemaProblems) {
    const [, list, index] = p.path.split('/');
    const items = broken.get(list ?? '');
    if (items === undefined || !/^\d+$/.test(index ?? '') || !Array.isArray(doc[list as string])) return [];
    items.add(Number(index));
  }
  const kept = { ...doc };
  const originalIndex = new Map<string, number[]>();
  for (const [list, items] of broken) {
    const all = doc[list];
    if (!Array.isArray(all)) continue;
    const keep = all.map((_, i) => i).filter((i) => !items.has(i));
    kept[list] = keep.map((i) => all[i]);
    originalIndex.set(list, keep);
  }
  const parsed = rulesetSchema.safeParse(kept);
  if (!parsed.success) return [];
  return validateSemantics(parsed.data).map((p) => {
    const [, list, index, ...rest] = p.path.split('/');
    const original = originalIndex.get(list ?? '')?.[Number(index)];
    return original === undefined ? p : { ...p, path: ['', list, original, ...rest].join('/') };
  });
}
