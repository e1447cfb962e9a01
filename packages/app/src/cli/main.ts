import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  decideParsed,
  EngineInputError,
  loadRuleset,
  parseDecisionContext,
  parseMessageRequest,
  RulesetInvalidError,
  toEpoch,
  validateRuleset,
} from '@signalbox/engine';
import { invocationDir, loadConfig } from '../config.js';
import { JsonFileError, loadRulesetFile, readJsonFile } from '../rules/ruleset-source.js';
import { formatDecision, formatProblems } from './format.js';

const USAGE = `Usage:
  signalbox rules validate FILE
      Validate a ruleset; exit 1 listing every problem (JSON pointer and message).
  signalbox decide [--ruleset FILE] --contact FILE --message FILE [--at ISO] [--json]
      Decide for one contact and message; prints the decision and its reasons.
      --contact holds a contact, or a context {contact, consent, history, events, object}.
      --ruleset defaults to the shipped default ruleset; --at defaults to now.

Exit codes: 0 done, 1 invalid ruleset or input, 2 usage or unreadable file.`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  now: () => Date;
}

/** Runs the CLI; returns the exit code. */
export function runCli(argv: readonly string[], io: CliIo): number {
  const [command, sub, ...rest] = argv;
  const path = (p: string) => resolve(io.cwd, p);
  try {
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
      io.out(
        values.json
          ? JSON.stringify(decision, null, 2)
          : formatDecision(
              decision,
              context.contact.timezone ?? (context.contact.market ? rs.source.markets[context.contact.market]?.timezone : undefined),
            ),
      );
      return 0;
    }
    return usage(io);
  } catch (e) {
    if (e instanceof RulesetInvalidError) {
      io.err(`invalid ruleset, ${e.problems.length} problem(s):\n${formatProblems(e.problems)}`);
      return 1;
    }
    if (e instanceof EngineInputError) {
      io.err(`invalid input:\n${formatProblems(e.problems)}`);
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
  const code = runCli(process.argv.slice(2), {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    cwd: invocationDir(config),
    now: () => new Date(),
  });
  process.exitCode = code;
}
