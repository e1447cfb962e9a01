import { type CompiledRuleset, contactZone, foldConsent, PURPOSES } from '@signalbox/engine';
import type { ConsentLedger } from '../contacts/consent-ledger.js';
import type { ContactEvents } from '../contacts/contact-events.js';
import type { StoredContact } from '../contacts/contact-repository.js';
import { eventReach } from '../contacts/context.js';
import { plainText } from '../content/plain-text.js';
import type { AttemptRepository } from '../delivery/attempt-repository.js';
import type { JourneyRepository } from '../journeys/journey-repository.js';
import type { MessageRepository } from '../messages/message-repository.js';
import { MESSAGE_WENT } from '../messages/status.js';
import { summariseDecision } from '../messages/summarise.js';
import type { TimerRepository } from '../timers/timer-repository.js';
import { eventLine, localTime, relative, story } from './story.js';

const DAY = 86_400_000;

const PER_MS: Record<string, number> = { hour: 3_600_000, day: DAY, week: 7 * DAY, month: 30 * DAY };

export interface AgentViewStore {
  messages: MessageRepository;
  contactEvents: ContactEvents;
  journeys: JourneyRepository;
  consent: ConsentLedger;
  timers: TimerRepository;
  attempts: AttemptRepository;
}

/**
 * What an agent sees on a CRM record (the HubSpot card and the Salesforce panel render the same
 * view): the whole cross-channel story, consent per channel and purpose, journeys and what is
 * scheduled next, the last decisions with their reasons, the contact-pressure budget left, and a
 * summary readable in five seconds.
 */
export async function agentView(store: AgentViewStore, rs: CompiledRuleset, contact: StoredContact, now: number) {
  const [messages, events, journeys, consent, attempts] = await Promise.all([
    store.messages.forContact(contact.id, 30),
    // the last 90 days, and what still stands however old (a ticket opened in spring and never closed)
    store.contactEvents.since(contact.id, now - 90 * DAY, eventReach(rs).lasting),
    store.journeys.forContact(contact.id),
    store.consent.of(contact.id),
    store.attempts.forContact(contact.id, 20),
  ]);
  // the contact's own zone, else their market's, else the ruleset's (as decisions take it)
  const { zone } = contactZone(contact, rs);
  const active = journeys.filter((j) => j.status === 'active');
  // only this contact's pending timers (its messages' steps and its journeys' waits), by its key
  const [timers, later] = await Promise.all([
    store.timers.pendingOf(contact.id, now - 60_000, 10),
    store.messages.latestDecisions(messages.slice(0, 5).map((m) => m.id)),
  ]);
  const source = rs.source;
  const state = foldConsent(consent, source.consent.defaults);
  const channels = Object.keys(source.channels);
  const consentGrid = channels.map((channel) => ({
    channel,
    purposes: Object.fromEntries(PURPOSES.map((p) => [p, state.allows(channel, p) ? 'granted' : 'revoked'])),
  }));
  /** What a pending timer will send: its journey, or the message it sends, retries or falls back from. */
  const labelOf = (ref: string | null): string | null => {
    if (ref === null) return null;
    const journey = active.find((j) => j.id === ref)?.journeyId;
    if (journey !== undefined) return journey;
    const message = messages.find((m) => m.id === ref);
    return message === undefined ? null : (message.template ?? message.type);
  };
  /**
   * Why a message waiting to go will not go as things stand: its purpose revoked on every channel
   * of its plan (a STOP ALL after it was scheduled). The send gate checks again when it is due and
   * drops it; the agent is told now instead of seeing it as next.
   */
  const heldBack = (ref: string | null): string | null => {
    const m = ref === null ? undefined : messages.find((x) => x.id === ref);
    if (m === undefined || m.status !== 'queued') return null;
    const plan = m.decision.plan.map((step) => step.channel);
    return plan.length > 0 && plan.every((ch) => !state.allows(ch, m.purpose as (typeof PURPOSES)[number]))
      ? `${m.purpose} consent revoked on ${[...new Set(plan)].join(', ')}: it will not be sent`
      : null;
  };
  // pendingOf already keeps to the next 10 from a minute ago
  const next = timers.map((t) => ({
    at: new Date(t.dueAt).toISOString(),
    local: localTime(t.dueAt, zone),
    in: relative(now - t.dueAt),
    kind: t.kind,
    ref: t.ref,
    label: labelOf(t.ref),
    heldBack: heldBack(t.ref),
  }));
  // a message counts from when it went (its first attempt), as decisions count it: one held back a
  // day went a day after it was asked for
  const wentAt = new Map<string, number>();
  for (const a of attempts) wentAt.set(a.messageId, Math.min(wentAt.get(a.messageId) ?? a.createdAt, a.createdAt));
  const budget = source.caps.map((cap) => {
    const windowMs = PER_MS[cap.per] ?? DAY;
    const used = messages.filter(
      (m) =>
        MESSAGE_WENT.includes(m.status) &&
        (wentAt.get(m.id) ?? m.createdAt) >= now - windowMs &&
        (cap.messageTypes ?? []).includes(m.type as never),
    ).length;
    return { cap: cap.id, description: cap.description ?? null, max: cap.max, per: cap.per, used, left: Math.max(0, cap.max - used) };
  });
  const timeline = [
    ...messages.map((m) => ({
      at: new Date(m.createdAt).toISOString(),
      kind: 'message' as const,
      title: `${m.template ?? m.type} · ${m.channel ?? '—'} · ${m.status}`,
      cost: m.cost,
    })),
    // the event's type, and what it says: an inbound message's words, or the event's data
    ...events.map((e) => ({ at: e.at, kind: 'event' as const, title: e.type, detail: eventLine(e) })),
  ]
    .sort((a, b) => (a.at < b.at ? 1 : -1))
    .slice(0, 25)
    .map((t) => ({ ...t, local: localTime(Date.parse(t.at), zone), ago: relative(now - Date.parse(t.at)) }));
  /** What was sent, attempt by attempt: the words, through whom, its provider id, segments and cost. */
  const sent = attempts.map((a) => ({
    at: new Date(a.updatedAt).toISOString(),
    local: localTime(a.updatedAt, zone),
    ago: relative(now - a.updatedAt),
    template: messages.find((m) => m.id === a.messageId)?.template ?? null,
    channel: a.channel,
    provider: a.provider,
    providerMessageId: a.providerMessageId,
    status: a.status,
    kind: a.content?.kind ?? null,
    language: a.language,
    text: a.content === null ? null : plainText(a.content),
    encoding: a.encoding,
    segments: a.segments,
    cost: a.cost,
    error: a.error,
  }));
  const decisions = messages.slice(0, 5).map((m) => {
    // a message held back after it was decided says why it waits now
    const d = later.get(m.id) ?? m.decision;
    return {
      at: new Date(m.createdAt).toISOString(),
      type: m.type,
      outcome: d.outcome,
      status: m.status,
      reason: summariseDecision(d),
      reasons: d.reasons.slice(0, 8).map((r) => ({ code: r.code, channel: r.channel ?? null, message: r.message })),
    };
  });
  const revoked = consentGrid.filter((c) => c.purposes.marketing === 'revoked').map((c) => c.channel);
  const first = next.find((n) => n.heldBack === null);
  const summary = [
    ...story({
      now,
      zone,
      events,
      messages,
      attempts,
      next: first === undefined ? null : { at: Date.parse(first.at), label: first.label },
    }),
    active.length > 0 ? `In ${active.map((j) => j.journeyId).join(', ')}.` : 'In no journey.',
    revoked.length === channels.length
      ? 'No marketing consent.'
      : revoked.length > 0
        ? `No marketing on ${revoked.join(', ')}.`
        : 'Marketing allowed.',
    budget.some((b) => b.left === 0)
      ? `Promo budget used up (${budget
          .filter((b) => b.left === 0)
          .map((b) => b.cap)
          .join(', ')}).`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    contact: {
      id: contact.id,
      timezone: contact.timezone ?? null,
      market: contact.market ?? null,
      channels: contact.identities.map((i) => i.kind),
    },
    summary,
    timeline,
    sent,
    consent: consentGrid,
    journeys: active.map((j) => ({ id: j.id, journey: j.journeyId })),
    next,
    decisions,
    budget,
  };
}

export type AgentView = Awaited<ReturnType<typeof agentView>>;
