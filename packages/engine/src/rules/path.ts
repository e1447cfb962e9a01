/**
 * Dot-path resolution used both by compiled conditions and, as its `pathResolver`, by
 * json-rules-engine (its JSONPath default is slow and allows paths we cannot validate).
 * Own properties only, so `__proto__`/`constructor` never leak out of a fact.
 */
export function resolvePath(value: unknown, segments: readonly string[]): unknown {
  let cur: unknown = value;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export function splitPath(path: string): string[] {
  return path === '' ? [] : path.split('.');
}
