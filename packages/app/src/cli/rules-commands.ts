import { parseArgs } from 'node:util';
import { type CompiledRuleset, loadRuleset, parseMessageRequest, toEpoch } from '@signalbox/engine';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { demoContacts } from '../demo/demo-contacts.js';
import { DryRuns } from '../dry-run/dry-runs.js';
import type { ImpactData } from '../dry-run/impact.js';
import { dryRunInMemory } from '../dry-run/offline.js';
import { createLogger } from '../logger.js';
import { hashOf, RulesGovernance } from '../rules/governance.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { diffRulesets } from '../rules/ruleset-diff.js';
import { loadRulesetFile, readJsonFile } from '../rules/ruleset-source.js';
import type { Store } from '../store/store.js';
import { CliError } from './cli-error.js';
import { openConfiguredStore } from './database.js';
import { formatDiff, formatImpact } from './format.js';
import type { CliIo } from './io.js';

const isVersion = (s: string) => /^\d+$/.test(s);

/** Governance over the configured database (version 1 is the ruleset the app would start with). */
export const governanceFor = (config: Config) =>
  new RulesGovernance(new RulesHolder(loadRulesetFile(config.SIGNALBOX_RULESET)), systemClock);

/** `rules diff A B`: each a ruleset file or a version number of the configured database. */
export async function rulesDiff(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const [a, b] = positionals;
  if (a === undefined || b === undefined || positionals.length > 2)
    throw new CliError('rules diff takes two rulesets: files or version numbers', 2);
  let store: Store | null = null;
  try {
    if (isVersion(a) || isVersion(b)) store = await openConfiguredStore(io.config, { create: false });
    const gov = governanceFor(io.config);
    const doc = async (ref: string) =>
      isVersion(ref) && store !== null ? (await gov.version(store, Number(ref), '/version')).document : readJsonFile(io.path(ref));
    const label = (ref: string) => (isVersion(ref) ? `version ${ref}` : ref);
    const diff = diffRulesets(await doc(a), await doc(b));
    io.out(values.json ? JSON.stringify(diff, null, 2) : formatDiff(label(a), label(b), diff));
    return 0;
  } finally {
    await store?.close();
  }
}

/**
 * `rules dry-run FILE [--against-db]`: the candidate against the ruleset in use, over the demo's
 * contacts in memory, or (--against-db) over every contact of the configured database in a dry
 * run's own thread and snapshot, stored with the others (author `cli`).
 */
export async function rulesDryRun(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      'against-db': { type: 'boolean', default: false },
      type: { type: 'string', multiple: true },
      team: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) throw new CliError('rules dry-run takes one ruleset file', 2);
  const candidate = loadRuleset(readJsonFile(io.path(file)));
  const at = values.at === undefined ? io.now().getTime() : toEpoch(values.at, '/--at');
  const requests = (values.type ?? ['promotional']).map((type, i) =>
    parseMessageRequest({ type, ...(values.team !== undefined ? { team: values.team } : {}) }, `/--type/${i}`),
  );
  const types = requests.map((r) => r.type).join(', ');
  let impact: ImpactData;
  let title: string;
  if (!values['against-db']) {
    const baseline = loadRulesetFile(io.config.SIGNALBOX_RULESET);
    const contacts = demoContacts(at);
    impact = dryRunInMemory({ contacts, requests, at, baseline, candidate, idPrefix: 'demo' });
    title = `Dry run of ${file} (${candidate.version}) against ${baseline.version}, over the ${contacts.length} demo contacts × ${types} (no database: --against-db reads the stored contacts)`;
  } else {
    ({ impact, title } = await againstDatabase(io, file, candidate, requests, at, types));
  }
  io.out(values.json ? JSON.stringify(impact, null, 2) : formatImpact(title, impact));
  return 0;
}

async function againstDatabase(
  io: CliIo,
  file: string,
  candidate: CompiledRuleset,
  requests: ReturnType<typeof parseMessageRequest>[],
  at: number,
  types: string,
): Promise<{ impact: ImpactData; title: string }> {
  const store = await openConfiguredStore(io.config, { create: false });
  const dryRuns = new DryRuns({ repo: () => store.dryRuns, location: store.location, clock: systemClock, log: createLogger('silent') });
  // the dry run's thread does not keep the process alive by itself
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    const active = await governanceFor(io.config).active(store);
    const rec = await dryRuns.start({
      candidate: { ruleset: candidate.source, ref: `file ${file}`, hash: hashOf(candidate.source) },
      baseline: { ruleset: loadRuleset(active.document).source, number: active.number, label: active.label },
      sample: { kind: 'contacts', at, requests },
      author: 'cli',
    });
    await dryRuns.idle();
    const done = await store.dryRuns.get(rec.id);
    if (done?.status !== 'done') throw new CliError(`dry run ${rec.id} failed: ${done?.error ?? 'unknown'}`, 1);
    const impact = (done.result as { impact: ImpactData }).impact;
    return {
      impact,
      title: `Dry run ${rec.id} of ${file} (${candidate.version}) against version ${active.number} (${active.label}), over ${impact.contacts} stored contacts × ${types}`,
    };
  } finally {
    clearInterval(keepAlive);
    await dryRuns.stop();
    await store.close();
  }
}
