/**
 * Vitest's global set-up: compiles the packages (`tsc -b tsconfig.build.json`, what `pnpm build`
 * runs before the console's bundle) so the scenario tests' real processes run the JavaScript a
 * deployment runs, built from the sources under test; again before each rerun in watch mode.
 * Incremental: about two seconds when the output is up to date. A type error stops the run here.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

const build = () => execFileSync(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

export default function setup(project: TestProject): void {
  build();
  project.onTestsRerun(() => {
    build();
  });
}
