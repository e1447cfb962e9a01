/**
 * Vitest's global set-up: compiles the packages (`tsc -b tsconfig.build.json`, what `pnpm build`
 * runs before the console's bundle) so the scenario tests' real processes run the JavaScript a
 * deployment runs, built from the sources under test. Incremental: about two seconds when the
 * output is up to date.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-b', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}
