/**
 * The default policy written by hand in plain TypeScript: no rule language, no reasons, only the
 * decision. It is the benchmark's speed limit and a second oracle: it must agree with decide()
 * on every generated case. It reads configuration (channels, prices, markets, windows, caps) from
 * the ruleset document; the rules themselves are the if-statements below.
 */
import { foldConsent } from '../src/consent/fold.js';
import { selectVariant } from '../src/content/select.js';
import type { VariantOf } from '../src/content/template-schema.js';
import type { DecisionContext } from '../src/model/context.js';
import type { Decision, PlanStep } from '../src/model/decision.js';
import type { MessageRequest } from '../src/model/message.js';
import { type ContentVariant, DEFAULT_PURPOSE } from '../src/model/vocabulary.js';
import { bestHourOf } from '../src/pipeline/facts.js';
import type { CompiledRuleset } from '../src/ruleset/compile.js';
import type { Template } from '../src/ruleset/schema.js';
import { formatIso } from '../src/time/iso.js';
import { inWindow, isValidTimeZone, localTime, nextAllowed } from '../src/time/zoned.js';

/** The part of a plan step both implementations must agree on. */
export type StepProjection = Omit<PlanStep, 'step' | 'provider'>;
export interface DecisionProjection {
  outcome: 'send' | 'defer' | 'suppress' | 'review';
  sendAt: string | null;
  plan: StepProjection[];
}

/** What of an engine decision is compared with the hand-written one. */
export function projectDecision(d: Decision): DecisionProjection {
  return {
    outcome: d.outcome,
    sendAt: d.sendAt,
    plan: d.plan.map(({ channel, mode, after, sendAt, timeoutMinutes, delayMinutes, content, estimatedCost }) => ({
      channel,
      mode,
      after,
      sendAt,
      timeoutMinutes,
      delayMinutes,
      content,
      estimatedCost,
    })),
  };
}

/** A template the ruleset does not define is the provider's own (approved); one it defines needs its rich variant's WhatsApp template. */
function approvedOutsideWindow(template: Template | undefined, locale: string | undefined): boolean {
  if (template?.content === undefined) return true;
  const rich = selectVariant(template, 'rich', locale);
  return rich !== null && rich.kind === 'rich' && (rich.variant as VariantOf<'rich'>).whatsappTemplate !== undefined;
}

const KEYWORD_REPLIES = new Set([
  'keyword_stop_confirmation',
  'keyword_stop_all_confirmation',
  'keyword_start_confirmation',
  'keyword_help_confirmation',
]);

const DAY = 86_400_000;
const MIN = 60_000;

function drop(groups: string[][], ch: string): void {
  for (let i = groups.length - 1; i >= 0; i--) {
    const g = groups[i] as string[];
    const k = g.indexOf(ch);
    if (k >= 0) {
      g.splice(k, 1);
      if (g.length === 0) groups.splice(i, 1);
    }
  }
}

function prefer(groups: string[][], ch: string): void {
  drop(groups, ch);
  groups.unshift([ch]);
}

export function handwrittenDefault(req: MessageRequest, ctx: DecisionContext, rs: CompiledRuleset, now: number): DecisionProjection {
  const src = rs.source;
  const type = req.type;
  const purpose = req.purpose ?? DEFAULT_PURPOSE[type];
  const c = ctx.contact;
  const market = c.market !== undefined ? src.markets[c.market] : undefined;
  let zone = c.timezone ?? market?.timezone ?? 'UTC';
  if (!isValidTimeZone(zone)) zone = market?.timezone ?? 'UTC';
  const window = (c.market !== undefined ? rs.quietWindows.markets.get(c.market) : undefined) ?? rs.quietWindows.default;
  const suppress: DecisionProjection = { outcome: 'suppress', sendAt: null, plan: [] };

  // guards
  const review = c.vulnerable === true && (req.category === 'collections' || req.category === 'payment_reminder');
  if (type === 'promotional' || req.category === 'payment_reminder' || req.category === 'post_contact_survey') {
    let ticketOpen = false;
    const tickets = new Map<string, [number, number]>();
    let complaint = -1;
    let paid = false;
    let topicAt = -1;
    let topic: unknown = null;
    for (const e of ctx.events) {
      const at = Date.parse(e.at);
      if (at > now) continue;
      if (e.type === 'ticket.opened' || e.type === 'ticket.closed') {
        const key = e.object ? `${e.object.type}:${e.object.id}` : '';
        const s = tickets.get(key) ?? [-1, -1];
        if (e.type === 'ticket.opened') s[0] = Math.max(s[0], at);
        else s[1] = Math.max(s[1], at);
        tickets.set(key, s);
      }
      if (e.type === 'complaint.filed') complaint = Math.max(complaint, at);
      if (e.type === 'invoice.paid' && req.object && e.object?.type === req.object.type && e.object.id === req.object.id) paid = true;
      if (
        // what the contact last contacted us about: a call or a ticket (a reply carries no topic)
        (e.type === 'call.completed' || e.type === 'ticket.opened' || e.type === 'ticket.closed') &&
        now - at <= 14 * DAY &&
        at >= topicAt
      ) {
        topicAt = at;
        const t = (e.data as Record<string, unknown>).topic;
        topic = t === undefined ? null : t;
      }
    }
    for (const [o, cl] of tickets.values()) if (o >= 0 && cl < o) ticketOpen = true;
    const recentComplaint = complaint >= 0 && now - complaint <= 14 * DAY;
    if (type === 'promotional' && (ticketOpen || recentComplaint)) return suppress;
    if (req.category === 'payment_reminder' && (paid || (ctx.object as { status?: unknown } | undefined)?.status === 'paid'))
      return suppress;
    if (req.category === 'post_contact_survey' && req.topic !== topic) return suppress;
  }
  // the reply to a contact's own STOP, START or HELP: at once, on any channel they may have written on
  const keywordReply = type === 'transactional' && req.workflow === 'consent-keywords' && KEYWORD_REPLIES.has(req.template ?? '');
  const bypassQuiet = type === 'otp' || type === 'urgent' || keywordReply;
  let notBefore = now;
  if (type === 'promotional') {
    const day: number[] = [];
    let week = 0;
    for (const h of ctx.history) {
      if (h.type !== 'promotional') continue;
      const at = Date.parse(h.at);
      const age = now - at;
      if (age < 0) continue;
      if (age < DAY) day.push(at);
      if (age < 7 * DAY) week++;
    }
    if (day.length >= 1) {
      day.sort((a, b) => a - b);
      notBefore = Math.max(notBefore, (day[day.length - 1] as number) + DAY);
    }
    if (week >= 3) return suppress;
  }

  // mapping
  const wa = c.engagement.whatsapp;
  let groups: string[][];
  let also: Array<{ channel: string; delayMinutes: number }> = [];
  if (market?.featurePhone === true && c.smartphone === false && (type === 'service' || type === 'rich' || type === 'promotional'))
    groups = [['ussd', 'sms']];
  else if (type === 'promotional' && wa !== undefined && wa.read >= 3 && wa.delivered > 0 && wa.read / wa.delivered >= 0.5)
    groups = [['whatsapp'], ['email']];
  else if (keywordReply) groups = [['sms'], ['whatsapp'], ['viber'], ['rcs']];
  else if (type === 'otp' || type === 'transactional') groups = [['sms'], ['voice']];
  else if (type === 'service') groups = [['whatsapp', 'viber'], ['sms']];
  else if (type === 'rich') groups = [['rcs'], ['whatsapp'], ['sms']];
  else if (type === 'urgent') {
    groups = [['voice']];
    also = [{ channel: 'sms', delayMinutes: 2 }];
  } else groups = [['email']];
  if ((type === 'service' || type === 'rich') && market?.messengers[0] === 'viber' && c.capabilities.viber === true)
    prefer(groups, 'viber');

  // capability (consent is a guard, applied per channel)
  const consent = foldConsent(ctx.consent, src.consent.defaults);
  const kinds = new Set(c.identities.map((i) => i.kind));
  const blocked = (ch: string): boolean => {
    const cfg = src.channels[ch];
    if (cfg === undefined || !consent.allows(ch, purpose) || !kinds.has(cfg.address)) return true;
    if (cfg.requires !== undefined && c.capabilities[cfg.requires] !== true) return true;
    if (market !== undefined && !market.channels.includes(ch)) return true;
    if (cfg.sessionWindowHours !== undefined) {
      const last = c.lastInbound[ch];
      const open = last !== undefined && now - Date.parse(last) < cfg.sessionWindowHours * 3_600_000;
      // outside the window: only a template, and one the ruleset defines only if it maps to an approved one
      if (!open && (req.template === undefined || !approvedOutsideWindow(src.templates[req.template], c.locale))) return true;
    }
    return false;
  };
  for (const g of [...groups]) for (const ch of [...g]) if (blocked(ch)) drop(groups, ch);
  if (c.smartphone !== false) drop(groups, 'ussd');

  // preferences
  const pref = c.preferences[type];
  if (pref !== undefined) {
    for (const ch of pref.exclude ?? []) drop(groups, ch);
    if (pref.channel !== undefined && groups.some((g) => g.includes(pref.channel as string))) prefer(groups, pref.channel);
  }

  // cost
  const prices = src.prices;
  const price = (ch: string) => (c.market !== undefined ? prices.markets[c.market]?.[ch] : undefined) ?? prices.default[ch] ?? 0;
  if (type === 'promotional') for (const g of [...groups]) for (const ch of [...g]) if (price(ch) > 0.05) drop(groups, ch);
  for (const g of groups) if (g.length > 1) g.sort((a, b) => price(a) - price(b));
  const channels = groups.flat();
  if (channels.length === 0) {
    const i = also.findIndex((a) => !blocked(a.channel));
    if (i >= 0) {
      channels.push((also[i] as { channel: string }).channel);
      also = also.filter((_, k) => k !== i);
    }
  }
  if (channels.length === 0) return suppress;

  // timing
  let at = Math.max(now, notBefore);
  if (!inWindow(localTime(at, zone).minuteOfDay, window) && !bypassQuiet) {
    const best = c.readHours === undefined ? null : bestHourOf(c.readHours);
    const useBest = best !== null && (type === 'promotional' || type === 'service');
    at = nextAllowed(at, zone, window, useBest ? (best as number) * 60 : undefined);
  }

  // plan
  const timeout = (ch: string): number => {
    if ((type === 'service' || type === 'rich') && (ch === 'whatsapp' || ch === 'viber')) return 15;
    if (type === 'rich' && ch === 'rcs') return 15;
    if (type === 'otp' && ch === 'sms') return 2;
    if (type === 'transactional' && ch === 'sms') return 30;
    return src.channels[ch]?.deliveryTimeoutMinutes ?? 60;
  };
  const content = (ch: string): ContentVariant => {
    if (type === 'rich' && ch === 'sms') return 'text+link';
    const offered = src.channels[ch]?.content ?? ['text'];
    if (req.rich === true && offered.includes('rich')) return 'rich';
    if (req.rich === true && (offered.includes('text+link') || offered.includes('text'))) return 'text+link';
    return offered.find((v) => v !== 'rich') ?? (offered[0] as ContentVariant);
  };
  const plan: StepProjection[] = [];
  const step = (channel: string, mode: StepProjection['mode'], after: number | null, sendAt: number, delayMinutes: number) =>
    plan.push({
      channel,
      mode,
      after,
      sendAt: formatIso(sendAt),
      timeoutMinutes: null,
      delayMinutes,
      content: content(channel),
      estimatedCost: price(channel),
    });
  let t = at;
  channels.forEach((ch, i) => {
    if (i > 0) {
      const prev = plan[i - 1] as StepProjection;
      prev.timeoutMinutes = timeout(prev.channel);
      t += prev.timeoutMinutes * MIN;
    }
    step(ch, i === 0 ? 'primary' : 'fallback', i === 0 ? null : i - 1, t, 0);
  });
  if ((type === 'service' || type === 'transactional') && req.priority === 'high' && !channels.includes('voice') && !blocked('voice')) {
    const last = plan.length - 1;
    const prev = plan[last] as StepProjection;
    prev.timeoutMinutes = 120;
    step('voice', 'fallback', last, Date.parse(prev.sendAt) + 120 * MIN, 0);
  }
  for (const a of also) if (!blocked(a.channel)) step(a.channel, 'also', 0, at + a.delayMinutes * MIN, a.delayMinutes);
  const outcome = review ? 'review' : at > now ? 'defer' : 'send';
  return { outcome, sendAt: plan[0]?.sendAt ?? null, plan };
}
