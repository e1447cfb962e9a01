import { pointerSegment, rulesetSchema } from '@signalbox/engine';

/** One leaf change: where (a JSON pointer into the newer document; the older one for removals), and what. */
export interface Change {
  op: 'add' | 'remove' | 'replace';
  pointer: string;
  from?: unknown;
  to?: unknown;
}

/** A named thing of the ruleset (a rule, a cap, a market's prices, a journey) and how it changed. */
export interface ItemChange {
  section: string;
  key: string;
  change: 'added' | 'removed' | 'changed';
  pointer: string;
  changes: Change[];
}

export interface RulesetDiff {
  identical: boolean;
  summary: Record<string, { added: number; removed: number; changed: number }>;
  items: ItemChange[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const ptr = (base: string, seg: string | number) => `${base}/${pointerSegment(String(seg))}`;

/** Arrays whose elements are matched by a name rather than by position. */
const KEY_OF = (v: unknown): string | null => {
  if (!isObj(v)) return null;
  if (typeof v.id === 'string') return v.id;
  if (typeof v.name === 'string') return v.name;
  return null;
};

/**
 * The structural difference between two ruleset documents, as an admin reads it: rules, caps,
 * journeys and their steps matched by name or id (a reordered list is not a change of every
 * element), prices and quiet hours per market, each item with the leaf changes inside it.
 */
export function diffRulesets(from: unknown, to: unknown): RulesetDiff {
  const a = normalised(from);
  const b = normalised(to);
  const items: ItemChange[] = [];
  const sections = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const section of sections) {
    const x = a[section];
    const y = b[section];
    const base = ptr('', section);
    if (Array.isArray(x) || Array.isArray(y)) itemsOfArray(section, base, asArray(x), asArray(y), items);
    else if (section === 'prices' || section === 'quietHours') itemsOfNested(section, base, asObj(x), asObj(y), items);
    else if (isObj(x) || isObj(y)) itemsOfRecord(section, base, asObj(x), asObj(y), items);
    else if (JSON.stringify(x) !== JSON.stringify(y)) {
      items.push(item(section, section, base, x, y));
    }
  }
  const summary: RulesetDiff['summary'] = {};
  for (const i of items) {
    const s = summary[i.section] ?? { added: 0, removed: 0, changed: 0 };
    s[i.change]++;
    summary[i.section] = s;
  }
  return { identical: items.length === 0, summary, items };
}

/**
 * A document as the engine reads it (defaults filled in), so a default written out is no change;
 * the shape is the document's own, so pointers hold for what the admin wrote. A document that
 * does not validate is compared as it is.
 */
function normalised(doc: unknown): Obj {
  const r = rulesetSchema.safeParse(doc);
  if (r.success) return r.data as unknown as Obj;
  return isObj(doc) ? doc : {};
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObj = (v: unknown): Obj => (isObj(v) ? v : {});
/** A key's own value (a channel named `constructor` is not Object.prototype's). */
const at = (o: Obj, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

function item(section: string, key: string, pointer: string, x: unknown, y: unknown): ItemChange {
  const change = x === undefined ? 'added' : y === undefined ? 'removed' : 'changed';
  const changes: Change[] = [];
  diffValue(x, y, pointer, pointer, changes);
  return { section, key, change, pointer, changes };
}

function itemsOfRecord(section: string, base: string, x: Obj, y: Obj, out: ItemChange[]): void {
  for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
    if (JSON.stringify(at(x, k)) === JSON.stringify(at(y, k))) continue;
    out.push(item(section, k, ptr(base, k), at(x, k), at(y, k)));
  }
}

/** prices and quietHours: `default` and each market are items of their own. */
function itemsOfNested(section: string, base: string, x: Obj, y: Obj, out: ItemChange[]): void {
  for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
    const xv = at(x, k);
    const yv = at(y, k);
    if (k === 'markets' && (isObj(xv) || isObj(yv))) {
      const xm = asObj(xv);
      const ym = asObj(yv);
      for (const m of [...new Set([...Object.keys(xm), ...Object.keys(ym)])]) {
        if (JSON.stringify(at(xm, m)) === JSON.stringify(at(ym, m))) continue;
        out.push(item(section, `markets/${m}`, ptr(ptr(base, k), m), at(xm, m), at(ym, m)));
      }
    } else if (JSON.stringify(xv) !== JSON.stringify(yv)) out.push(item(section, k, ptr(base, k), xv, yv));
  }
}

function itemsOfArray(section: string, base: string, x: unknown[], y: unknown[], out: ItemChange[]): void {
  const keyed = [...x, ...y].every((v) => KEY_OF(v) !== null);
  if (!keyed) {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(item(section, section, base, x, y));
    return;
  }
  const xi = new Map(x.map((v, i) => [KEY_OF(v) as string, i]));
  const yi = new Map(y.map((v, i) => [KEY_OF(v) as string, i]));
  for (const [k, j] of yi) {
    const i = xi.get(k);
    const changes: Change[] = [];
    if (i === undefined) {
      diffValue(undefined, y[j], ptr(base, j), ptr(base, j), changes);
      out.push({ section, key: k, change: 'added', pointer: ptr(base, j), changes });
    } else if (JSON.stringify(x[i]) !== JSON.stringify(y[j])) {
      diffValue(x[i], y[j], ptr(base, i), ptr(base, j), changes);
      out.push({ section, key: k, change: 'changed', pointer: ptr(base, j), changes });
    }
  }
  for (const [k, i] of xi) {
    if (yi.has(k)) continue;
    const changes: Change[] = [];
    diffValue(x[i], undefined, ptr(base, i), ptr(base, i), changes);
    out.push({ section, key: k, change: 'removed', pointer: ptr(base, i), changes });
  }
}

/** Leaf changes between two values; `pa`/`pb` locate them in the older and the newer document. */
function diffValue(x: unknown, y: unknown, pa: string, pb: string, out: Change[]): void {
  if (x === undefined && y === undefined) return;
  if (x === undefined) {
    out.push({ op: 'add', pointer: pb, to: y });
    return;
  }
  if (y === undefined) {
    out.push({ op: 'remove', pointer: pa, from: x });
    return;
  }
  if (isObj(x) && isObj(y)) {
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) diffValue(at(x, k), at(y, k), ptr(pa, k), ptr(pb, k), out);
    return;
  }
  if (Array.isArray(x) && Array.isArray(y)) {
    const keyed = x.length + y.length > 0 && [...x, ...y].every((v) => KEY_OF(v) !== null);
    if (keyed) {
      const xi = new Map(x.map((v, i) => [KEY_OF(v) as string, i]));
      const yi = new Map(y.map((v, i) => [KEY_OF(v) as string, i]));
      for (const [k, j] of yi) {
        const i = xi.get(k);
        if (i === undefined) out.push({ op: 'add', pointer: ptr(pb, j), to: y[j] });
        else diffValue(x[i], y[j], ptr(pa, i), ptr(pb, j), out);
      }
      for (const [k, i] of xi) if (!yi.has(k)) out.push({ op: 'remove', pointer: ptr(pa, i), from: x[i] });
      return;
    }
    // plain lists (channels, words, candidates): one change for the whole list reads best
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ op: 'replace', pointer: pb, from: x, to: y });
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ op: 'replace', pointer: pb, from: x, to: y });
}
