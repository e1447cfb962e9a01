// Mutation testing of the engine's decision logic (pnpm test:mutation; not part of pnpm test or CI:
// a full run takes ~40 min on 2 cores). Develop per file: pnpm test:mutation --mutate src/pipeline/cost.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/pipeline/**/*.ts', 'src/consent/**/*.ts', 'src/time/**/*.ts', 'src/rules/**/*.ts', '!src/**/*.test.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 90, low: 85, break: null },
};
