import type { DecisionContext } from '../model/context.js';
import type { Outcome, Reason } from '../model/decision.js';
import type { MessageRequest } from '../model/message.js';
import { type ContentVariant, type MessageType, STAGES, type Stage } from '../model/vocabulary.js';
import type { Facts } from '../rules/compile-condition.js';
import type { CompiledRule, CompiledRuleset } from '../ruleset/compile.js';
import type { Effect } from '../ruleset/schema.js';
import type { DecisionFacts } from './facts.js';
import { type ContentFacts, segmentsOn } from './variant.js';

export type CapDef = Extract<Effect, { type: 'cap' }>['params'] & { channels?: readonly string[] | undefined };

export type { ContentFacts } from './variant.js';

/** The decision as the stages build it up. */
export interface Draft {
  rs: CompiledRuleset;
  request: MessageRequest;
  ctx: DecisionContext;
  now: number;
  f: DecisionFacts;
  /** Evaluates a stage's rules; use fired(d, stage), which caches per stage. */
  evaluate: (stage: Stage, type: MessageType, facts: Facts) => readonly CompiledRule[];
  firedCache: Array<readonly CompiledRule[] | undefined>;
  reasons: Reason[];
  /** Set by guards: suppress wins over review. */
  verdict: Extract<Outcome, 'suppress' | 'review'> | null;
  bypassQuietHours: boolean;
  bypassCaps: boolean;
  notBefore: number;
  deferTo: 'bestHour' | 'windowStart' | null;
  extraCaps: CapDef[];
  cappedChannels: Map<string, string> | null;
  /** Ordered candidates; an inner array holds equivalent channels. */
  candidates: string[][];
  also: Array<{ channel: string; delayMinutes: number }>;
  mapped: boolean;
  maxCost: number | null;
  sendAt: number;
  fallbackAfter: Map<string, number> | null;
  adapt: Map<string, ContentVariant> | null;
  escalations: Array<{ channel: string; afterMinutes: number; also?: string | undefined }>;
  /** Rendered content facts, when the caller has them (null: every SMS counts as one segment). */
  content: ContentFacts | null;
}

const STAGE_INDEX = Object.fromEntries(STAGES.map((s, i) => [s, i])) as Record<Stage, number>;

/** Rules of a stage whose conditions hold, in priority order (evaluated once per stage). */
export function fired(d: Draft, stage: Stage): readonly CompiledRule[] {
  const i = STAGE_INDEX[stage];
  let hit = d.firedCache[i];
  if (hit === undefined) {
    hit = d.evaluate(stage, d.request.type, d.f.facts);
    d.firedCache[i] = hit;
  }
  return hit;
}

export function ruleReason(rule: CompiledRule): Reason {
  return {
    stage: rule.stage,
    code: 'rule_fired',
    rule: rule.name,
    effect: rule.effect.type,
    message: rule.source.description ?? describeEffect(rule.effect),
  };
}

export function describeEffect(e: Effect): string {
  switch (e.type) {
    case 'channels':
      return `candidates ${e.params.candidates.map((c) => (Array.isArray(c) ? `[${c.join('|')}]` : c)).join(' → ')}${
        e.params.also?.length ? ` plus ${e.params.also.map((a) => a.channel).join(', ')}` : ''
      }`;
    case 'prefer':
      return `prefer ${e.params.channel}`;
    case 'exclude':
      return `exclude ${e.params.channels.join(', ')}`;
    case 'suppress':
      return `suppress: ${e.params.reason}`;
    case 'review':
      return `hold for review: ${e.params.reason}`;
    case 'defer':
      return 'minutes' in e.params ? `defer ${e.params.minutes} min` : `defer until ${e.params.until}`;
    case 'cap':
      return `cap ${e.params.max} per ${e.params.per}`;
    case 'bypass':
      return `bypass ${e.params.guard}`;
    case 'fallbackAfter':
      return `fall back from ${e.params.channel} after ${e.params.minutes} min without delivery`;
    case 'adaptContent':
      return `send ${e.params.variant} on ${e.params.channel}`;
    case 'escalate':
      return `escalate to ${e.params.channel} after ${e.params.afterMinutes} min`;
    case 'price':
      return `at most ${e.params.maxCost} per message`;
  }
}

/** Removes a channel from the candidate groups; returns whether it was there. */
export function dropCandidate(d: Draft, channel: string): boolean {
  let found = false;
  for (let i = d.candidates.length - 1; i >= 0; i--) {
    const g = d.candidates[i] as string[];
    const k = g.indexOf(channel);
    if (k >= 0) {
      g.splice(k, 1);
      found = true;
      if (g.length === 0) d.candidates.splice(i, 1);
    }
  }
  return found;
}

/** Moves (or inserts) a channel to the front. */
export function preferCandidate(d: Draft, channel: string): boolean {
  const present = dropCandidate(d, channel);
  d.candidates.unshift([channel]);
  return present;
}

/** The price table's figure for one message (one SMS segment) on a channel in the contact's market. */
export function unitPriceOf(d: Draft, channel: string): number {
  const src = d.rs.source.prices;
  const market = d.ctx.contact.market;
  const byMarket = market !== undefined ? src.markets[market]?.[channel] : undefined;
  return byMarket ?? src.default[channel] ?? 0;
}

/** What this message costs on a channel: SMS is billed per segment of its rendered text. */
export function priceOf(d: Draft, channel: string): number {
  const unit = unitPriceOf(d, channel);
  const segments = segmentsOn(d, channel);
  return segments === null || segments.segments <= 1 ? unit : Math.round(unit * segments.segments * 1e6) / 1e6;
}

export function isCandidate(d: Draft, channel: string): boolean {
  for (const g of d.candidates) if (g.includes(channel)) return true;
  return false;
}

/**
 * Applies an `exclude` rule: drops its channels from the candidates. The rule is recorded only
 * when it removed something, each removed channel with the reason.
 */
export function applyExclude(d: Draft, rule: CompiledRule, code: 'excluded' | 'preference'): void {
  const e = rule.effect;
  if (e.type !== 'exclude') return;
  let recorded = false;
  for (const ch of e.params.channels) {
    if (!dropCandidate(d, ch)) continue;
    if (!recorded) d.reasons.push(ruleReason(rule));
    recorded = true;
    d.reasons.push({ stage: rule.stage, code, rule: rule.name, channel: ch, message: e.params.reason ?? `excluded by ${rule.name}` });
  }
}
