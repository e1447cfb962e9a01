import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  contactZone,
  decideParsed,
  EngineInputError,
  loadRuleset,
  parseDecisionContext,
  parseMessageRequest,
  RulesetInvalidError,
  SignalboxError,
  toEpoch,
  validateRuleset,
} from '@signalbox/engine';
import { invocationDir, loadConfig } from '../config.js';
import { JsonFileError, loadRulesetFile, readJsonFile } from '../rules/ruleset-source.js';
import { CliError } from './cli-error.js';
import { formatDecision, formatProblems } from './format.js';
import type { CliIo } from './io.js';
import { journeySimulate } from './journey-command.js';
import { rulesDiff, rulesDryRun } from './rules-commands.js';

const USAGE = `Usage:
  signalbox rules validate FILE
      Validate a ruleset; exit 1 listing every problem (JSON pointer and message).
  signalbox decide [--ruleset FILE] --contact FILE --message FILE [--at ISO] [--json]
      Decide for one contact and message; prints the decision and its reasons.
      --contact holds a contact, or a context {contact, consent, history, events, object}.
      --ruleset defaults to the shipped default ruleset; --at defaults to now.
  signalbox rules diff A B [--json]
      What changed from A to B, each a ruleset file or a version number of the database.
  signalbox rules dry-run FILE [--against-db] [--type TYPE]... [--team TEAM] [--at ISO] [--json]
      The candidate FILE against the ruleset in use, per team, workflow, message type and market,
      with examples: over the demo's contacts, or (--against-db) every stored contact against
      the active version (the run is stored like the console's). --type defaults to promotional.
  signalbox journey simulate --journey ID --events "invoice.overdue at day 0, invoice.paid at day 4"
          [--market KE | --contact FILE] [--ruleset FILE | --version N] [--start ISO] [--days N] [--json]
      The timeline a journey would follow (every send decided, with reasons); nothing is stored or sent.

The database is the app's (DATABASE_URL, or DATA_DIR/signalbox.db).

Exit codes: 0 done, 1 invalid ruleset or input, 2 usage or unreadable file.`;

export type { CliIo } from './io.js';

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, sub, ...rest] = argv;
  const path = io.path;
  try {
    if (command === 'rules' && sub === 'diff') return await rulesDiff(rest, io);
    if (command === 'rules' && sub === 'dry-run') return await rulesDryRun(rest, io);
    if (command === 'journey' && sub === 'simulate') return await journeySimulate(rest, io);
    if (command === 'rules' && sub === 'validate') {
      const file = rest[0];
      if (file === undefined || rest.length > 1) return usage(io);
      const r = validateRuleset(readJsonFile(path(file)));
      if (r.ok) {
        io.out(`${file}: valid (version ${r.ruleset.version}, ${r.ruleset.rules.length} rules, ${r.ruleset.journeys.length} journeys)`);
        return 0;
      }
      io.err(`${file}: invalid ruleset, ${r.problems.length} problem(s):\n${formatProblems(r.problems)}`);
      return 1;
    }
    if (command === 'decide') {
      const { values } = parseArgs({
        args: argv.slice(1),
        options: {
          ruleset: { type: 'string' },
          contact: { type: 'string' },
          message: { type: 'string' },
          at: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
      if (values.contact === undefined || values.message === undefined) return usage(io);
      const rs = values.ruleset === undefined ? loadRulesetFile(undefined) : loadRuleset(readJsonFile(path(values.ruleset)));
      const contactDoc = readJsonFile(path(values.contact));
      const contextDoc =
        contactDoc !== null && typeof contactDoc === 'object' && 'contact' in contactDoc ? contactDoc : { contact: contactDoc };
      const context = parseDecisionContext(contextDoc, '/contact-file');
      const request = parseMessageRequest(readJsonFile(path(values.message)), '/message-file');
      const now = values.at === undefined ? io.now().getTime() : toEpoch(values.at, '/--at');
      const decision = decideParsed(request, context, rs, now);
      io.out(values.json ? JSON.stringify(decision, null, 2) : formatDecision(decision, contactZone(context.contact, rs).zone));
      return 0;
    }
    return usage(io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(e.showUsage ? `${e.message}\n\n${USAGE}` : e.message);
      return e.exitCode;
    }
    if (e instanceof RulesetInvalidError) {
      io.err(`invalid ruleset, ${e.problems.length} problem(s):\n${formatProblems(e.problems)}`);
      return 1;
    }
    if (e instanceof EngineInputError) {
      io.err(`invalid input:\n${formatProblems(e.problems)}`);
      return 1;
    }
    if (e instanceof SignalboxError) {
      io.err(e.problems.length > 0 ? `${e.message}:\n${formatProblems(e.problems)}` : e.message);
      return 1;
    }
    if (e instanceof JsonFileError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

function usage(io: CliIo): number {
  io.err(USAGE);
  return 2;
}

const isMain = process.argv[1] !== undefined && /cli\/main\.[jt]s$/.test(resolve(process.argv[1]));
if (isMain) {
  const config = loadConfig();
  const cwd = invocationDir(config);
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    path: (p) => resolve(cwd, p),
    now: () => new Date(),
    config,
  });
}
