import type { Problem } from '@signalbox/engine';

/**
 * A stored draft's (or version's) problems, located in the request that named it: each at the
 * field naming it (`/draftId`), saying where in its document it is (as the draft itself reports
 * it, `/document/…`). Their own paths point at nothing in the request.
 */
export function draftProblems(problems: readonly Problem[], at: string, whose: 'draft' | 'version' = 'draft'): Problem[] {
  return problems.map((p) => ({ path: at, message: `the ${whose}'s /document${p.path}: ${p.message}` }));
}
