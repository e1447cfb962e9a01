import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // the HubSpot card's tests render it with @hubspot/ui-extensions/testing (no DOM needed)
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'integrations/hubspot/src/app/cards/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the scenario tests' processes run the compiled packages: built once here, from the sources under test
    globalSetup: ['test/support/build.ts'],
  },
});
