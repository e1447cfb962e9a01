import type { PlanStep } from '../model/decision.js';
import type { ContentVariant } from '../model/vocabulary.js';
import { channelBlock } from './capability.js';
import type { Draft } from './draft.js';
import { priceOf, ruleReason } from './draft.js';

const MIN = 60_000;

function variantFor(d: Draft, channel: string): ContentVariant {
  const forced = d.adapt.get(channel);
  if (forced !== undefined) return forced;
  const offered = d.rs.source.channels[channel]?.content ?? ['text'];
  const rich = d.request.rich === true;
  if (rich && offered.includes('rich')) return 'rich';
  if (rich && offered.includes('text+link')) return 'text+link';
  if (rich && offered.includes('text')) return 'text+link';
  const plain = offered.find((v) => v !== 'rich');
  return plain ?? (offered[0] as ContentVariant);
}

/**
 * Stage 7. Primary step, fallbacks with per-step delivery timeouts, follow-ups (`also`),
 * escalation, and the content variant each channel gets (rich → plain text + link where needed).
 */
export function plan(d: Draft, channels: readonly string[]): PlanStep[] {
  for (const rule of d.fired('plan')) {
    const e = rule.effect;
    if (e.type === 'fallbackAfter') d.fallbackAfter.set(e.params.channel, e.params.minutes);
    else if (e.type === 'adaptContent') d.adapt.set(e.params.channel, e.params.variant);
    else if (e.type === 'escalate') d.escalations.push(e.params);
    else continue;
    d.reasons.push(ruleReason(rule));
  }
  const cfg = d.rs.source.channels;
  const steps: PlanStep[] = [];
  const timeoutOf = (ch: string) => d.fallbackAfter.get(ch) ?? cfg[ch]?.deliveryTimeoutMinutes ?? 60;
  const make = (channel: string, mode: PlanStep['mode'], after: number | null, sendAt: number, delayMinutes = 0): PlanStep => {
    const content = variantFor(d, channel);
    if (d.request.rich === true && content !== 'rich' && content !== 'voice') {
      d.reasons.push({ stage: 'plan', code: 'content_adapted', channel, message: `rich content sent as ${content} on ${channel}` });
    }
    return {
      step: steps.length,
      channel,
      provider: cfg[channel]?.provider ?? 'sandbox',
      mode,
      after,
      sendAt: new Date(sendAt).toISOString(),
      timeoutMinutes: null,
      delayMinutes,
      content,
      estimatedCost: priceOf(d, channel),
    };
  };

  let lastChain = -1;
  let at = d.sendAt;
  channels.forEach((ch, i) => {
    if (i > 0) {
      const prev = steps[lastChain] as PlanStep;
      prev.timeoutMinutes = timeoutOf(prev.channel);
      at += prev.timeoutMinutes * MIN;
    }
    steps.push(make(ch, i === 0 ? 'primary' : 'fallback', i === 0 ? null : lastChain, at));
    lastChain = steps.length - 1;
  });

  const inPlan = (ch: string) => steps.some((s) => s.channel === ch);
  const usable = (ch: string): boolean => {
    const block = channelBlock(d, ch);
    if (block !== null) d.reasons.push({ ...block, channel: ch });
    return block === null;
  };

  for (const esc of d.escalations) {
    if (inPlan(esc.channel) || !usable(esc.channel)) continue;
    const prev = steps[lastChain] as PlanStep;
    prev.timeoutMinutes = esc.afterMinutes;
    const escAt = Date.parse(prev.sendAt) + esc.afterMinutes * MIN;
    steps.push(make(esc.channel, 'fallback', lastChain, escAt));
    const escIndex = steps.length - 1;
    lastChain = escIndex;
    if (esc.also !== undefined && usable(esc.also)) steps.push(make(esc.also, 'also', escIndex, escAt, 0));
  }

  for (const a of d.also) {
    if (steps.length === 0) break;
    if (!usable(a.channel)) continue;
    steps.push(make(a.channel, 'also', 0, d.sendAt + a.delayMinutes * MIN, a.delayMinutes));
  }
  return steps;
}
