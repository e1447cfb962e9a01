/**
 * CRM search as HubSpot runs it: filter groups ORed, filters in a group ANDed (5 groups, 10
 * filters per group, 25 in all), one sort, pages of at most 200 through `after`, and no result
 * past the 10,000th.
 */
import { HsError } from './fake-errors.js';
import { type FakeObject, view } from './fake-portal.js';

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
}

export function search(store: Map<string, FakeObject>, body: Record<string, unknown>): Record<string, unknown> {
  const limit = Number(body.limit ?? 10);
  if (limit > 200) throw new HsError(400, 'VALIDATION_ERROR', 'limit must be at most 200');
  const after = Number(body.after ?? 0);
  if (after + limit > 10_000)
    throw new HsError(400, 'VALIDATION_ERROR', 'The search endpoints return at most 10,000 results: page past it with a filter instead.');
  const groups = (body.filterGroups as Array<{ filters: Filter[] }> | undefined) ?? [];
  const nFilters = groups.reduce((n, g) => n + g.filters.length, 0);
  if (groups.length > 5 || nFilters > 25 || groups.some((g) => g.filters.length > 10))
    throw new HsError(400, 'VALIDATION_ERROR', 'Too many filters: at most 5 groups, 10 filters per group, 25 in total');
  const sorts = (body.sorts as Array<{ propertyName: string; direction?: string } | string> | undefined) ?? [];
  if (sorts.length > 1) throw new HsError(400, 'VALIDATION_ERROR', 'only one sort is supported');
  const value = (o: FakeObject, prop: string) => (prop === 'hs_object_id' ? o.id : (o.properties[prop] ?? null));
  const cmp = (a: string | null, b: string, numeric: boolean) => {
    if (a === null) return Number.NaN;
    if (numeric) return Number(a) - Number(b);
    const ta = Date.parse(a);
    const tb = /^\d+$/.test(b) ? Number(b) : Date.parse(b);
    if (Number.isFinite(ta) && Number.isFinite(tb)) return ta - tb;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  const test = (o: FakeObject, f: Filter) => {
    const v = value(o, f.propertyName);
    const numeric = f.propertyName === 'hs_object_id';
    switch (f.operator) {
      case 'EQ':
        return v !== null && String(v).toLowerCase() === String(f.value).toLowerCase();
      case 'NEQ':
        return v === null || String(v).toLowerCase() !== String(f.value).toLowerCase();
      case 'GT':
        return cmp(v, String(f.value), numeric) > 0;
      case 'GTE':
        return cmp(v, String(f.value), numeric) >= 0;
      case 'LT':
        return cmp(v, String(f.value), numeric) < 0;
      case 'LTE':
        return cmp(v, String(f.value), numeric) <= 0;
      case 'HAS_PROPERTY':
        return v !== null && v !== '';
      case 'NOT_HAS_PROPERTY':
        return v === null || v === '';
      default:
        throw new HsError(400, 'VALIDATION_ERROR', `unknown operator ${f.operator}`);
    }
  };
  let rows = [...store.values()].filter(
    (o) => !o.archived && (groups.length === 0 || groups.some((g) => g.filters.every((f) => test(o, f)))),
  );
  const sort = sorts[0];
  const sortProp = typeof sort === 'string' ? sort.replace(/^-/, '') : (sort?.propertyName ?? 'hs_object_id');
  const desc = typeof sort === 'string' ? sort.startsWith('-') : sort?.direction === 'DESCENDING';
  rows.sort((a, b) => {
    const d = sortProp === 'hs_object_id' ? Number(a.id) - Number(b.id) : cmp(value(a, sortProp), String(value(b, sortProp)), false);
    return (desc ? -d : d) || Number(a.id) - Number(b.id);
  });
  const total = rows.length;
  rows = rows.slice(after, after + limit);
  const props = (body.properties as string[] | undefined) ?? null;
  const next = after + limit < Math.min(total, 10_000) ? { next: { after: String(after + limit) } } : undefined;
  return { total, results: rows.map((o) => view(o, props)), ...(next ? { paging: next } : {}) };
}
