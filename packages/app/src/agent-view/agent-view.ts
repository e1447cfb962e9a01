import { type CompiledRuleset, foldConsent, PURPOSES } from '@signalbox/engine';
import type { ConsentLedger } from '../contacts/consent-ledger.js';
import type { ContactEvents } from '../contacts/contact-events.js';
import type { StoredContact } from '../contacts/contact-repository.js';
import type { JourneyRepository } from '../journeys/journey-repository.js';
import type { MessageRepository } from '../messages/message-repository.js';
import { MESSAGE_WENT } from '../messages/status.js';
import { summariseDecision } from '../messages/summarise.js';
import type { TimerRepository } from '../timers/timer-repository.js';

const DAY = 86_400_000;

/** An instant as the contact lives it ("Thu 26 Nov, 10:00 Africa/Nairobi"; UTC when their zone is not known). */
function localTime(at: number, zone: string | null): string {
  const tz = zone ?? 'UTC';
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return `${f.format(at)} ${tz}`;
}
const PER_MS: Record<string, number> = { hour: 3_600_000, day: DAY, week: 7 * DAY, month: 30 * DAY };

export interface AgentViewStore {
  messages: MessageRepository;
  contactEvents: ContactEvents;
  journeys: JourneyRepository;
  consent: ConsentLedger;
  timers: TimerRepository;
}

/**
 * What an agent sees on a CRM record (the HubSpot card and the Salesforce panel render the same
 * view): the whole cross-channel story, consent per channel and purpose, journeys and what is
 * scheduled next, the last decisions with their reasons, the contact-pressure budget left, and a
 * summary readable in five seconds.
 */
export async function agentView(store: AgentViewStore, rs: CompiledRuleset, contact: StoredContact, now: number) {
  const [messages, events, journeys, consent] = await Promise.all([
    store.messages.forContact(contact.id, 30),
    store.contactEvents.since(contact.id, now - 90 * DAY),
    store.journeys.forContact(contact.id),
    store.consent.of(contact.id),
  ]);
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
  const next = timers.map((t) => ({ at: new Date(t.dueAt).toISOString(), kind: t.kind, ref: t.ref, label: labelOf(t.ref) }));
  const budget = source.caps.map((cap) => {
    const windowMs = PER_MS[cap.per] ?? DAY;
    const used = messages.filter(
      (m) => MESSAGE_WENT.includes(m.status) && m.createdAt >= now - windowMs && (cap.messageTypes ?? []).includes(m.type as never),
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
    ...events.map((e) => ({ at: e.at, kind: 'event' as const, title: e.type })),
  ]
    .sort((a, b) => (a.at < b.at ? 1 : -1))
    .slice(0, 25);
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
  const last = messages[0];
  const revoked = consentGrid.filter((c) => c.purposes.marketing === 'revoked').map((c) => c.channel);
  const summary = [
    active.length > 0 ? `In ${active.map((j) => j.journeyId).join(', ')}.` : 'In no journey.',
    last
      ? `Last: ${last.template ?? last.type} by ${last.channel ?? '—'} (${last.status}) ${ago(now - last.createdAt)}.`
      : 'Nothing sent yet.',
    next[0]
      ? `Next send ${localTime(Date.parse(next[0].at), contact.timezone ?? null)}${next[0].label === null ? '' : ` (${next[0].label})`}.`
      : 'Nothing scheduled.',
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
    consent: consentGrid,
    journeys: active.map((j) => ({ id: j.id, journey: j.journeyId })),
    next,
    decisions,
    budget,
  };
}

export type AgentView = Awaited<ReturnType<typeof agentView>>;

function ago(ms: number): string {
  if (ms < 90_000) return 'just now';
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 36 * 3_600_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${Math.round(ms / DAY)} days ago`;
}
