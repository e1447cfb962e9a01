import { type ConsentState, foldConsent } from '../consent/fold.js';
import type { DecisionContext } from '../model/context.js';
import type { MessageRequest } from '../model/message.js';
import { DEFAULT_PURPOSE, MESSAGE_TYPES, type Purpose } from '../model/vocabulary.js';
import type { Facts } from '../rules/compile-condition.js';
import type { CompiledRuleset } from '../ruleset/compile.js';
import { inWindow, isValidTimeZone, type LocalTime, localTime, type Window } from '../time/zoned.js';
import { deriveSuppressions } from './suppressions.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;

export type MarketConfig = CompiledRuleset['source']['markets'][string];

/** Everything derived once per decision and shared by every stage. */
export interface DecisionFacts {
  /** The facts rule conditions read. Only the facts some rule of the ruleset names are built. */
  facts: Facts;
  purpose: Purpose;
  zone: string;
  zoneAssumed: boolean;
  market: MarketConfig | undefined;
  window: Window;
  local: LocalTime;
  consent: ConsentState;
  identityKinds: { has(kind: string): boolean };
  bestHour: number | null;
}

/** The identity kinds a contact has: a handful, so a scan beats building a Set per decision. */
class KindSet {
  constructor(private readonly ids: ReadonlyArray<{ kind: string }>) {}
  has(kind: string): boolean {
    for (const id of this.ids) if (id.kind === kind) return true;
    return false;
  }
}

/** The contact's best hour: the local hour with most reads, once there are at least 3 reads. */
export function bestHourOf(readHours: readonly number[] | undefined): number | null {
  if (readHours === undefined) return null;
  let best = -1;
  let bestCount = 0;
  let total = 0;
  for (let h = 0; h < 24; h++) {
    const c = readHours[h] ?? 0;
    total += c;
    if (c > bestCount) {
      bestCount = c;
      best = h;
    }
  }
  return total >= 3 && best >= 0 ? best : null;
}

/**
 * The time zone a contact's local times are taken in: its own when valid, else its market's, else
 * the ruleset's (`quietHours.timezone`, UTC when not given); `assumed` when not its own. Decisions
 * time messages in it, content shows instants in it, read hours are counted in it.
 */
export function contactZone(
  contact: { timezone?: string | undefined; market?: string | undefined },
  rs: CompiledRuleset,
): { zone: string; assumed: boolean } {
  const market = contact.market !== undefined ? rs.source.markets[contact.market] : undefined;
  // (validated on publish; a ruleset compiled before the field existed has none)
  const fallback = market?.timezone ?? rs.source.quietHours.timezone ?? 'UTC';
  const zone = contact.timezone ?? fallback;
  if (isValidTimeZone(zone)) return { zone, assumed: contact.timezone === undefined };
  return { zone: isValidTimeZone(fallback) ? fallback : 'UTC', assumed: true };
}

export function buildFacts(request: MessageRequest, ctx: DecisionContext, rs: CompiledRuleset, now: number): DecisionFacts {
  const src = rs.source;
  const need = rs.factNeeds[request.type];
  const contact = ctx.contact;
  const market = contact.market !== undefined ? src.markets[contact.market] : undefined;
  const { zone, assumed: zoneAssumed } = contactZone(contact, rs);
  const window = (contact.market !== undefined ? rs.quietWindows.markets.get(contact.market) : undefined) ?? rs.quietWindows.default;
  const local = localTime(now, zone);
  const purpose = request.purpose ?? DEFAULT_PURPOSE[request.type];
  const consent = foldConsent(ctx.consent, src.consent.defaults);
  const identityKinds = new KindSet(contact.identities);
  const bestHour = contact.readHours === undefined ? null : bestHourOf(contact.readHours);

  const facts: Record<string, unknown> = {
    contact: contactFact(ctx, rs, need, zone, identityKinds, bestHour),
    message: {
      type: request.type,
      purpose,
      team: request.team,
      workflow: request.workflow,
      template: request.template,
      category: request.category,
      topic: request.topic,
      priority: request.priority,
      rich: request.rich === true,
      journeyId: request.journeyId,
      object: request.object,
      variables: request.variables ?? {},
    },
    market: (contact.market !== undefined ? rs.marketFacts.get(contact.market) : undefined) ?? {
      code: contact.market,
      featurePhone: false,
      primaryMessenger: null,
      messengers: [],
      channels: [],
    },
    object: ctx.object ?? {},
  };
  if (need.has('local')) {
    facts.local = {
      hour: local.hour,
      minute: local.minute,
      weekday: local.weekday,
      time: `${String(local.hour).padStart(2, '0')}:${String(local.minute).padStart(2, '0')}`,
      quiet: !inWindow(local.minuteOfDay, window),
    };
  }
  if (need.has('history')) facts.history = historyFact(ctx, now);
  if (need.has('suppressions')) {
    const times: number[] = [];
    for (const e of ctx.events) times.push(Date.parse(e.at));
    facts.suppressions = deriveSuppressions(src.suppressions, ctx.events, times, request.object, now);
  }
  if (need.has('consent')) {
    const consentFact: Record<string, Record<Purpose, boolean>> = {};
    for (const ch of Object.keys(src.channels)) {
      consentFact[ch] = {
        marketing: consent.allows(ch, 'marketing'),
        service: consent.allows(ch, 'service'),
        transactional: consent.allows(ch, 'transactional'),
      };
    }
    facts.consent = consentFact;
  }
  return { facts, purpose, zone, zoneAssumed, market, window, local, consent, identityKinds, bestHour };
}

function contactFact(
  ctx: DecisionContext,
  rs: CompiledRuleset,
  need: ReadonlySet<string>,
  zone: string,
  identityKinds: { has(kind: string): boolean },
  bestHour: number | null,
): Record<string, unknown> {
  const contact = ctx.contact;
  const fact: Record<string, unknown> = {
    id: contact.id,
    market: contact.market,
    timezone: zone,
    locale: contact.locale,
    smartphone: contact.smartphone,
    vulnerable: contact.vulnerable === true,
    bestHour,
    tags: contact.tags,
    capabilities: contact.capabilities,
    attributes: contact.attributes,
  };
  if (need.has('contact.reachable')) {
    const reachable: Record<string, boolean> = {};
    for (const [name, ch] of Object.entries(rs.source.channels)) reachable[name] = identityKinds.has(ch.address);
    fact.reachable = reachable;
  }
  if (need.has('contact.engagement')) {
    const engagement: Record<string, unknown> = {};
    for (const ch in contact.engagement) {
      const e = contact.engagement[ch];
      if (e === undefined) continue;
      engagement[ch] = {
        sent: e.sent,
        delivered: e.delivered,
        read: e.read,
        replied: e.replied,
        readRate: e.delivered > 0 ? e.read / e.delivered : 0,
        deliveryRate: e.sent > 0 ? e.delivered / e.sent : 0,
      };
    }
    fact.engagement = engagement;
  }
  return fact;
}

function historyFact(ctx: DecisionContext, now: number): Record<string, { day: number; week: number }> {
  const history: Record<string, { day: number; week: number }> = { all: { day: 0, week: 0 } };
  for (const t of MESSAGE_TYPES) history[t] = { day: 0, week: 0 };
  for (const record of ctx.history) {
    const age = now - Date.parse(record.at);
    if (age < 0 || age >= WEEK) continue;
    const h = history[record.type] as { day: number; week: number };
    const all = history.all as { day: number; week: number };
    h.week++;
    all.week++;
    if (age < DAY) {
      h.day++;
      all.day++;
    }
  }
  return history;
}
