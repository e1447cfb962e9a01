import { parseArgs } from 'node:util';
import { type CompiledRuleset, loadRuleset, parseDecisionContext, toEpoch } from '@signalbox/engine';
import { parseEventScript } from '../journeys/event-script.js';
import { simulateJourney, simulationEnd } from '../journeys/simulate.js';
import { loadRulesetFile, readJsonFile } from '../rules/ruleset-source.js';
import { CliError } from './cli-error.js';
import { openConfiguredStore } from './database.js';
import { formatSimulation } from './format.js';
import type { CliIo } from './io.js';
import { governanceFor } from './rules-commands.js';

/**
 * `journey simulate --journey ID --events "invoice.overdue at day 0, invoice.paid at day 4"`: the
 * simulator the API and the console use, on a contact of a market (or one from a file), with the
 * ruleset in use, a file (--ruleset) or a stored version (--version). Nothing is stored or sent.
 */
export async function journeySimulate(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      journey: { type: 'string' },
      events: { type: 'string' },
      market: { type: 'string', default: 'KE' },
      contact: { type: 'string' },
      ruleset: { type: 'string' },
      version: { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (values.journey === undefined || values.events === undefined || positionals.length > 0)
    throw new CliError('journey simulate needs --journey ID and --events "type at day N, …"', 2);
  if (values.ruleset !== undefined && values.version !== undefined) throw new CliError('give --ruleset or --version, not both', 2);
  if (values.days !== undefined && !/^\d{1,3}$/.test(values.days)) throw new CliError('--days is a number of days (1 to 365)', 2);
  const rs = await rulesetOf(io, values.ruleset, values.version);
  const start = values.start === undefined ? io.now().getTime() : toEpoch(values.start, '/--start');
  const events = parseEventScript(values.events, start);
  const contactDoc =
    values.contact !== undefined
      ? readJsonFile(io.path(values.contact))
      : { id: 'simulated-contact', identities: [{ kind: 'phone', value: '+254700000999' }], market: values.market.toUpperCase() };
  const context = parseDecisionContext({ contact: { id: 'simulated-contact', ...(contactDoc as object) } }, '/contact-file');
  const days = values.days === undefined ? undefined : Math.min(365, Math.max(1, Number(values.days)));
  const s = simulateJourney({ ruleset: rs, journeyId: values.journey, context, events, start, until: simulationEnd(start, days) });
  io.out(values.json ? JSON.stringify(s, null, 2) : formatSimulation(s));
  return 0;
}

async function rulesetOf(io: CliIo, file: string | undefined, version: string | undefined): Promise<CompiledRuleset> {
  if (file !== undefined) return loadRuleset(readJsonFile(io.path(file)));
  if (version === undefined) return loadRulesetFile(io.config.SIGNALBOX_RULESET);
  if (!/^\d+$/.test(version)) throw new CliError('--version is a version number', 2);
  const store = await openConfiguredStore(io.config, { create: false });
  try {
    return loadRuleset((await governanceFor(io.config).version(store, Number(version), '/ruleset')).document);
  } finally {
    await store.close();
  }
}
