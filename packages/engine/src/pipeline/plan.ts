import { selectVariant, templateKindFor } from '../content/select.js';
import type { VariantOf } from '../content/template-schema.js';
import type { PlanStep } from '../model/decision.js';
import { formatIso } from '../time/iso.js';
import { channelBlock } from './capability.js';
import type { Draft } from './draft.js';
import { fired, priceOf, ruleReason } from './draft.js';
import { segmentsOn, variantFor } from './variant.js';

const MIN = 60_000;

function timeoutOf(d: Draft, channel: string): number {
  return d.fallbackAfter?.get(channel) ?? d.rs.source.channels[channel]?.deliveryTimeoutMinutes ?? 60;
}

function makeStep(
  d: Draft,
  steps: PlanStep[],
  channel: string,
  mode: PlanStep['mode'],
  after: number | null,
  sendAt: number,
  delayMinutes: number,
): PlanStep {
  const content = approvedTemplateOn(d, channel) ? 'rich' : variantFor(d, channel);
  if (d.request.rich === true && content !== 'rich' && content !== 'voice') {
    d.reasons.push({ stage: 'plan', code: 'content_adapted', channel, message: `rich content sent as ${content} on ${channel}` });
  }
  const segments = segmentsOn(d, channel);
  return {
    step: steps.length,
    channel,
    provider: d.rs.source.channels[channel]?.provider ?? 'sandbox',
    mode,
    after,
    sendAt: formatIso(sendAt),
    timeoutMinutes: null,
    delayMinutes,
    content,
    estimatedCost: priceOf(d, channel),
    ...(segments === null ? {} : { segments }),
  };
}

/**
 * Whether a session channel (WhatsApp) carries the template's variant mapped to the provider's
 * approved template where it would carry text: it sends that one in and out of its window (so
 * that it can go outside it), and the plan says what goes.
 */
function approvedTemplateOn(d: Draft, channel: string): boolean {
  const cfg = d.rs.source.channels[channel];
  if (cfg?.sessionWindowHours === undefined || d.request.template === undefined) return false;
  const variant = variantFor(d, channel);
  if (variant !== 'text' || templateKindFor(cfg.kind, variant) !== 'text') return false;
  const template = d.rs.source.templates[d.request.template];
  if (template?.content === undefined) return false;
  const rich = selectVariant(template, 'rich', d.ctx.contact.locale);
  return rich !== null && rich.kind === 'rich' && (rich.variant as VariantOf<'rich'>).whatsappTemplate !== undefined;
}

function inPlan(steps: readonly PlanStep[], channel: string): boolean {
  for (const s of steps) if (s.channel === channel) return true;
  return false;
}

function usable(d: Draft, channel: string): boolean {
  const block = channelBlock(d, channel);
  if (block !== null) d.reasons.push({ ...block, channel });
  return block === null;
}

/**
 * Stage 7. Primary step, fallbacks with per-step delivery timeouts, follow-ups (`also`),
 * escalation, and the content variant each channel gets (rich → plain text + link where needed).
 */
export function plan(d: Draft, channels: readonly string[]): PlanStep[] {
  for (const rule of fired(d, 'plan')) {
    const e = rule.effect;
    if (e.type === 'fallbackAfter') {
      d.fallbackAfter ??= new Map();
      d.fallbackAfter.set(e.params.channel, e.params.minutes);
      // a timeout matters only when the channel is planned and something follows it
      const at = channels.indexOf(e.params.channel);
      if (at < 0 || at === channels.length - 1) continue;
    } else if (e.type === 'adaptContent') {
      d.adapt ??= new Map();
      d.adapt.set(e.params.channel, e.params.variant);
      if (!channels.includes(e.params.channel)) continue;
    } else if (e.type === 'escalate') d.escalations.push(e.params);
    else continue;
    d.reasons.push(ruleReason(rule));
  }
  const steps: PlanStep[] = [];
  let lastChain = -1;
  let at = d.sendAt;
  for (let i = 0; i < channels.length; i++) {
    const ch = channels[i] as string;
    if (i > 0) {
      const prev = steps[lastChain] as PlanStep;
      prev.timeoutMinutes = timeoutOf(d, prev.channel);
      at += prev.timeoutMinutes * MIN;
    }
    steps.push(makeStep(d, steps, ch, i === 0 ? 'primary' : 'fallback', i === 0 ? null : lastChain, at, 0));
    lastChain = steps.length - 1;
  }

  for (const esc of d.escalations) {
    if (inPlan(steps, esc.channel) || !usable(d, esc.channel)) continue;
    const prev = steps[lastChain] as PlanStep;
    prev.timeoutMinutes = esc.afterMinutes;
    const escAt = Date.parse(prev.sendAt) + esc.afterMinutes * MIN;
    steps.push(makeStep(d, steps, esc.channel, 'fallback', lastChain, escAt, 0));
    const escIndex = steps.length - 1;
    lastChain = escIndex;
    if (esc.also !== undefined && usable(d, esc.also)) steps.push(makeStep(d, steps, esc.also, 'also', escIndex, escAt, 0));
  }

  for (const a of d.also) {
    if (steps.length === 0) break;
    if (!usable(d, a.channel)) continue;
    steps.push(makeStep(d, steps, a.channel, 'also', 0, d.sendAt + a.delayMinutes * MIN, a.delayMinutes));
  }
  return steps;
}
