import type { Problem } from '@signalbox/engine';

/**
 * A stored draft's problems, located in the request that named it: each at the field naming the
 * draft (`/draftId`), saying where in the draft's document it is (as the draft itself reports it,
 * `/document/…`). Their own paths point at nothing in the request.
 */
export function draftProblems(problems: readonly Problem[], at: string): Problem[] {
  return problems.map((p) => ({ path: at, message: `the draft's /document${p.path}: ${p.message}` }));
}
