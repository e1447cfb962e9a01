import { defineConfig } from 'vitest/config';

// The engine's own tests alone: what `pnpm test:mutation` (StrykerJS) runs against each mutant.
// The everyday suite runs them from the root config.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
