/**
 * Small helpers for the engine's decision tests: a contact in Nairobi, the default ruleset, the
 * default ruleset with a few rules of a test's own, and short views of a decision.
 */
import type { ConsentRecord } from '../model/consent.js';
import type { ContactInput } from '../model/contact.js';
import type { DecisionContextInput } from '../model/context.js';
import type { Decision, Reason } from '../model/decision.js';
import type { MessageRequestInput } from '../model/message.js';
import { decide } from '../pipeline/decide.js';
import { type CompiledRuleset, loadRuleset } from '../ruleset/compile.js';
import { defaultCompiledRuleset, defaultRulesetDocument } from './default-ruleset.js';

export const rs = defaultCompiledRuleset();

/** 10:00 in Nairobi (UTC+3), a Monday. */
export const MORNING_KE = '2026-11-23T07:00:00Z';

export function contact(over: Partial<ContactInput> = {}): ContactInput {
  return {
    id: 'c-1',
    market: 'KE',
    timezone: 'Africa/Nairobi',
    smartphone: true,
    identities: [
      { kind: 'phone', value: '+254700000001' },
      { kind: 'email', value: 'amina@example.com' },
    ],
    ...over,
  };
}

export function consent(
  channel: string,
  purpose: ConsentRecord['purpose'],
  status: ConsentRecord['status'],
  at = '2026-11-01T00:00:00Z',
): ConsentRecord {
  return { channel, purpose, status, source: 'crm', at };
}

/** Marketing is opt-in in the default ruleset: this contact opted in to email marketing. */
export const EMAIL_OPT_IN = consent('email', 'marketing', 'granted', '2026-01-01T00:00:00Z');

/** Reads concentrated on one local hour: that hour becomes the contact's best hour. */
export const readsAt = (hour: number): number[] => Array.from({ length: 24 }, (_, h) => (h === hour ? 5 : 0));

export function run(
  req: MessageRequestInput,
  ctx: Partial<DecisionContextInput> = {},
  now: string = MORNING_KE,
  ruleset: CompiledRuleset = rs,
): Decision {
  return decide(req, { contact: contact(), consent: [EMAIL_OPT_IN], ...ctx }, ruleset, now);
}

type Doc = Record<string, unknown> & { rules: unknown[] };

/**
 * The default ruleset with extra rules (and any other change a test makes to the document).
 * `replace` drops the default rules first, for a ruleset that only holds what the test is about.
 */
export function ruleset(extra: unknown[], opts: { replace?: boolean; patch?: (doc: Doc) => void } = {}): CompiledRuleset {
  const doc = structuredClone(defaultRulesetDocument) as Doc;
  doc.rules = [...(opts.replace ? [] : doc.rules), ...extra];
  opts.patch?.(doc);
  return loadRuleset(doc);
}

/** A rule for message types `types` in `stage` with effect `event`. */
export function rule(name: string, stage: string, types: string[], event: unknown, priority = 10): unknown {
  return {
    name,
    stage,
    priority,
    conditions: { all: [{ fact: 'message', path: 'type', operator: 'in', value: types }] },
    event,
  };
}

/** The plan as `mode:channel`. */
export const steps = (d: Decision): string[] => d.plan.map((s) => `${s.mode}:${s.channel}`);
export const codes = (d: Decision): string[] => d.reasons.map((r) => r.code);
export const reasonsOf = (d: Decision, code: Reason['code']): Reason[] => d.reasons.filter((r) => r.code === code);
export const firedRules = (d: Decision): string[] => d.reasons.filter((r) => r.code === 'rule_fired').map((r) => r.rule ?? '');
/** Why a channel was dropped (the first reason naming it, content adaptation aside). */
export const dropped = (d: Decision, channel: string): string | undefined =>
  d.reasons.find((r) => r.channel === channel && r.code !== 'content_adapted' && r.code !== 'preferred')?.code;

/** Sets a value deep inside a ruleset document (a test's patch). */
export function setIn(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = doc;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1] as string] = value;
}
