import { EngineInputError, type Problem } from '../errors.js';
import { type DecisionContext, type DecisionContextInput, decisionContextSchema } from '../model/context.js';
import type { Decision, Outcome } from '../model/decision.js';
import { type MessageRequest, type MessageRequestInput, messageRequestSchema } from '../model/message.js';
import { type MessageType, STAGES, type Stage } from '../model/vocabulary.js';
import type { Facts } from '../rules/compile-condition.js';
import type { ReferenceEngines } from '../rules/reference-engine.js';
import type { CompiledRule, CompiledRuleset } from '../ruleset/compile.js';
import { zodProblems } from '../ruleset/zod-problems.js';
import { formatIso } from '../time/iso.js';
import { capability, channelBlock } from './capability.js';
import { cost } from './cost.js';
import type { ContentFacts, Draft } from './draft.js';
import { buildFacts } from './facts.js';
import { guards } from './guards.js';
import { mapping } from './mapping.js';
import { plan } from './plan.js';
import { preferences } from './preferences.js';
import { timing } from './timing.js';

/** Fired rules per stage, from whichever evaluator ran the conditions. */
export type StageEvaluator = (stage: Stage, type: MessageType, facts: Facts) => readonly CompiledRule[];

/** The compiled evaluator: only the rules indexed for this stage and message type, as synchronous closures. */
export function fireCompiled(rs: CompiledRuleset, stage: Stage, type: MessageType, facts: Facts): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const r of rs.index[stage][type]) if (r.test(facts)) out.push(r);
  return out;
}

export type Instant = Date | string | number;

export function toEpoch(now: Instant, path = '/now'): number {
  const ms = now instanceof Date ? now.getTime() : typeof now === 'number' ? now : Date.parse(now);
  if (!Number.isFinite(ms)) throw new EngineInputError('now', [{ path, message: 'must be a valid instant (Date, epoch ms or ISO 8601)' }]);
  // a plan's times are written as ISO 8601 (four-digit years): an instant they cannot name is refused here
  if (ms < FIRST_INSTANT || ms > LAST_INSTANT)
    throw new EngineInputError('now', [{ path, message: 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z' }]);
  return ms;
}

const FIRST_INSTANT = 0;
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Validates a message request at the boundary; throws INPUT_INVALID naming the JSON path. */
export function parseMessageRequest(input: unknown, base = '/request'): MessageRequest {
  const r = messageRequestSchema.safeParse(input);
  if (!r.success) throw new EngineInputError('message request', prefix(zodProblems(r.error.issues), base));
  return r.data;
}

/** Validates a decision context at the boundary; throws INPUT_INVALID naming the JSON path. */
export function parseDecisionContext(input: unknown, base = '/context'): DecisionContext {
  const r = decisionContextSchema.safeParse(input);
  if (!r.success) throw new EngineInputError('decision context', prefix(zodProblems(r.error.issues), base));
  return r.data;
}

function prefix(problems: Problem[], base: string): Problem[] {
  return problems.map((p) => ({ ...p, path: `${base}${p.path}` }));
}

/**
 * The decision for one message: whether, on which channels in which order, when, at what cost,
 * and why. Pure and deterministic: the same inputs give the same decision.
 */
export function decide(
  request: MessageRequestInput | unknown,
  context: DecisionContextInput | unknown,
  ruleset: CompiledRuleset,
  now: Instant,
): Decision {
  return decideParsed(parseMessageRequest(request), parseDecisionContext(context), ruleset, toEpoch(now));
}

/** decide() for inputs already validated by parseMessageRequest/parseDecisionContext. */
export function decideParsed(
  request: MessageRequest,
  ctx: DecisionContext,
  rs: CompiledRuleset,
  now: number,
  content: ContentFacts | null = null,
): Decision {
  return assemble(request, ctx, rs, now, rs.evaluate, content);
}

/** Runs the seven stages given an evaluator for rule conditions. */
export function assemble(
  request: MessageRequest,
  ctx: DecisionContext,
  rs: CompiledRuleset,
  now: number,
  evaluate: StageEvaluator,
  content: ContentFacts | null = null,
): Decision {
  const f = buildFacts(request, ctx, rs, now);
  const d: Draft = {
    rs,
    request,
    ctx,
    now,
    f,
    evaluate,
    firedCache: [undefined, undefined, undefined, undefined, undefined, undefined, undefined],
    reasons: [],
    verdict: null,
    bypassQuietHours: false,
    bypassCaps: false,
    notBefore: now,
    deferTo: null,
    extraCaps: [],
    cappedChannels: null,
    candidates: [],
    also: [],
    mapped: false,
    maxCost: null,
    sendAt: now,
    fallbackAfter: null,
    adapt: null,
    escalations: [],
    content,
  };

  guards(d);
  if (d.verdict === 'suppress') return finish(d, 'suppress', []);
  mapping(d);
  if (!d.mapped) return finish(d, 'suppress', []);
  capability(d);
  preferences(d);
  cost(d);
  const channels: string[] = [];
  for (const g of d.candidates) for (const ch of g) channels.push(ch);
  if (channels.length === 0) {
    // a follow-up channel can carry the message alone when every candidate is gone (urgent: SMS without voice)
    const i = d.also.findIndex((a) => channelBlock(d, a.channel) === null);
    if (i >= 0) {
      const [promoted] = d.also.splice(i, 1);
      if (promoted) {
        channels.push(promoted.channel);
        d.reasons.push({
          stage: 'plan',
          code: 'preferred',
          channel: promoted.channel,
          message: `no candidate left; ${promoted.channel} follow-up becomes the primary`,
        });
      }
    }
  }
  if (channels.length === 0) {
    d.reasons.push({
      stage: 'capability',
      code: 'no_reachable_channel',
      message: 'no channel left that may carry this message to this contact',
    });
    return finish(d, 'suppress', []);
  }
  timing(d);
  const steps = plan(d, channels);
  const outcome: Outcome = d.verdict === 'review' ? 'review' : d.sendAt > now ? 'defer' : 'send';
  return finish(d, outcome, steps);
}

function finish(d: Draft, outcome: Outcome, steps: Decision['plan']): Decision {
  let estimatedCost = 0;
  for (const s of steps) if (s.mode !== 'fallback') estimatedCost += s.estimatedCost;
  return {
    outcome,
    messageType: d.request.type,
    purpose: d.f.purpose,
    contactId: d.ctx.contact.id,
    rulesetVersion: d.rs.version,
    decidedAt: formatIso(d.now),
    sendAt: steps.length > 0 && outcome !== 'suppress' ? (steps[0]?.sendAt ?? null) : null,
    plan: steps,
    estimatedCost: Math.round(estimatedCost * 1e6) / 1e6,
    currency: d.rs.source.prices.currency,
    reasons: d.reasons,
  };
}

/**
 * decide() with json-rules-engine evaluating every rule (the reference semantics): used to prove
 * the compiled closures agree, and safe under concurrency because each evaluation borrows its own
 * Engine from the pool.
 */
export async function decideWithReference(
  request: MessageRequestInput | unknown,
  context: DecisionContextInput | unknown,
  rs: CompiledRuleset,
  engines: ReferenceEngines,
  now: Instant,
): Promise<Decision> {
  const req = parseMessageRequest(request);
  const ctx = parseDecisionContext(context);
  const ms = toEpoch(now);
  const { facts } = buildFacts(req, ctx, rs, ms);
  const fired = await Promise.all(STAGES.map((s) => engines.fire(s, facts)));
  const byStage = new Map(STAGES.map((s, i) => [s, fired[i] ?? []]));
  return assemble(req, ctx, rs, ms, (stage) => byStage.get(stage) ?? []);
}
