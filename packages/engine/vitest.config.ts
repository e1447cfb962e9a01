import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Slow files that go last: mutation testing stops at a mutant's first failing test, so the
// quick, focused decision tests get the first chance to kill it.
const SLOW = ['properties.test', 'differential.test', 'iso.test', 'context.test', 'zoned.test'];
const weight = (spec: TestSpecification) => SLOW.findIndex((s) => spec.moduleId.includes(s));

class FocusedFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => weight(a) - weight(b) || (a.moduleId < b.moduleId ? -1 : 1));
  }
}

// The engine's own tests alone: what `pnpm test:mutation` (StrykerJS) runs against each mutant.
// The everyday suite runs them from the root config.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    // one module graph for all files: a mutant run imports the engine once, not once per test file
    isolate: false,
    sequence: { sequencer: FocusedFirst },
  },
});
