// Mutation testing of the engine's decision logic: `pnpm test:mutation` (not part of pnpm test or
// CI). Develop one file at a time: pnpm test:mutation --mutate src/pipeline/cost.ts --concurrency 1

/**
 * Mutants left out of the score, each with its reason. Only two kinds qualify: the wording of a
 * reason (its code, channel, rule and times are asserted; its sentence is for people) and what
 * only changes a cache's speed or memory.
 */
const WORDING = "reason wording: a reason's sentence, not its code, channel, rule or time";
const EXCLUDED = [
  { file: 'src/pipeline/timing.ts', code: 'const fmt =', why: 'reason wording: how a send time is shown in a reason' },
  {
    file: 'src/pipeline/draft.ts',
    code: 'export function describeEffect',
    why: 'reason wording: the sentence for a rule without a description',
  },
  { file: 'src/pipeline/guards.ts', code: 'const scope =', why: "reason wording: the cap reason's message types" },
  { file: 'src/pipeline/guards.ts', code: 'const by =', why: "reason wording: the cap reason's list of teams" },
  { file: 'src/pipeline/guards.ts', code: 'const detail =', why: "reason wording: the cap reason's sentence" },
  { file: 'src/time/zoned.ts', code: 'if (zoneValidity.size > 10_000)', why: 'cache speed: bounds the memory of the zone-validity cache' },
  { file: 'src/time/zoned.ts', code: 'if (byBucket.size > 20_000)', why: 'cache speed: bounds the memory of the offset cache' },
];

const sourceOf = (path) => {
  const code = path.hub?.file?.code;
  const { start, end } = path.node;
  return typeof code === 'string' && start != null && end != null ? code.slice(start, end) : '';
};
const fileOf = (path) => (path.hub?.file?.opts?.filename ?? '').replaceAll('\\', '/');

const signalboxIgnorer = {
  shouldIgnore(path) {
    // { message: `…` } in a reason or a problem: the sentence itself (not the `message` fact, an object)
    if (path.isObjectProperty() && !path.node.computed && path.node.key.name === 'message' && path.node.value.type !== 'ObjectExpression') {
      return WORDING;
    }
    if (!path.isStatement()) return undefined;
    const file = fileOf(path);
    const hit = EXCLUDED.find((x) => file.endsWith(x.file) && sourceOf(path).startsWith(x.code));
    return hit?.why;
  },
};

export const strykerPlugins = [{ kind: 'Ignore', name: 'signalbox', value: signalboxIgnorer }];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner', './stryker.config.mjs'],
  ignorers: ['signalbox'],
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
