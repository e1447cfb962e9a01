import type { z } from 'zod';
import { type Problem, toPointer } from '../errors.js';

type Issue = z.core.$ZodIssue;

/**
 * Turns zod issues into problems with JSON pointers. A union (a condition, an effect) that fails
 * reports the branch that got furthest into the input, so an admin reads
 * `/rules/4/conditions/any/1/operator: Invalid option` rather than "Invalid input" one level up.
 */
export function zodProblems(issues: readonly Issue[], base: ReadonlyArray<string | number> = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) collect(issue, [...base], out);
  return out;
}

function collect(issue: Issue, base: Array<string | number>, out: Problem[]): void {
  const path = [...base, ...(issue.path as Array<string | number>)];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = bestBranch(issue.errors);
    if (branch !== undefined) {
      for (const sub of branch) collect(sub, path, out);
      return;
    }
  }
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) out.push({ path: toPointer([...path, key]), message: `unknown property "${key}"` });
    return;
  }
  out.push({ path: toPointer(path), message: issue.message });
}

function depth(issue: Issue): number {
  let d = issue.path.length;
  if (issue.code === 'invalid_union') {
    const b = bestBranch(issue.errors);
    if (b) d += Math.max(0, ...b.map(depth));
  }
  // an unrecognised key at the top of a branch means the branch is the wrong shape altogether
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) d -= 0.5;
  if (issue.code === 'invalid_type' && issue.path.length === 0) d -= 1;
  return d;
}

function bestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const b of branches) {
    if (b.length === 0) continue;
    const score = Math.max(...b.map(depth)) - b.length * 0.01;
    if (score > bestScore) {
      bestScore = score;
      best = b;
    }
  }
  return best;
}
