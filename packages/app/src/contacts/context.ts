import { type CompiledRuleset, type DecisionContext, trustedDecisionContext } from '@signalbox/engine';
import { NotFoundError } from '../errors.js';
import type { MessageRepository } from '../messages/message-repository.js';
import { MESSAGE_PRESSURE } from '../messages/status.js';
import type { ConsentLedger } from './consent-ledger.js';
import type { ContactEvents } from './contact-events.js';
import type { ContactRepository, StoredContact } from './contact-repository.js';
import type { DecisionReads, DecisionState } from './decision-reads.js';

const DAY = 86_400_000;
/** How far back the pressure budget looks (its longest window is a week). */
const PRESSURE_DAYS = 8;
/** How far back events count at least (suppression windows such as 14 days after a complaint). */
const EVENT_DAYS = 90;

/** How far back a decision reads a contact's events under a ruleset (see `eventReach`). */
export interface EventReach {
  /** Days of every event: 90, or a suppression's longer `forDays`/`withinDays`. */
  days: number;
  /**
   * Event types read however old: those opening or closing a window without `forDays` (a ticket
   * opened in spring and never closed still holds promotions; an invoice paid long ago still has
   * no reminder).
   */
  lasting: readonly string[];
}

const reaches = new WeakMap<CompiledRuleset, EventReach>();
/** The events a ruleset's suppressions need, per compiled ruleset. */
export function eventReach(rs: CompiledRuleset): EventReach {
  let r = reaches.get(rs);
  if (r === undefined) {
    const defs = Object.values(rs.source.suppressions);
    const days = Math.max(EVENT_DAYS, ...defs.map((d) => (d.kind === 'window' ? (d.forDays ?? 0) : d.withinDays)));
    const lasting = [
      ...new Set(defs.flatMap((d) => (d.kind === 'window' && d.forDays === undefined ? [...d.opens, ...d.closes] : []))),
    ].sort();
    r = { days, lasting };
    reaches.set(rs, r);
  }
  return r;
}

/** What decisions under any of these rulesets read (a dry run's baseline and candidate read the same rows). */
export function eventReachOf(...rulesets: readonly CompiledRuleset[]): EventReach {
  const each = rulesets.map(eventReach);
  return { days: Math.max(EVENT_DAYS, ...each.map((r) => r.days)), lasting: [...new Set(each.flatMap((r) => r.lasting))].sort() };
}

export interface ContextReads {
  contacts: ContactRepository;
  consent: ConsentLedger;
  contactEvents: ContactEvents;
  messages: MessageRepository;
  /** All of it in one statement, where that saves round trips (PostgreSQL). */
  decisionReads?: DecisionReads;
}

/**
 * The fresh state a decision about a contact needs: the contact, its consent ledger, what counts
 * against its pressure budget and its recent events. `self` (a message being sent) leaves itself,
 * and what was decided after it, out of the budget.
 */
export async function loadContext(
  store: ContextReads,
  contactId: string,
  now: number,
  reach: EventReach,
  self?: { id: string; createdAt: number; priority?: string | undefined },
): Promise<{ contact: StoredContact; context: DecisionContext }> {
  const b = decisionBounds(now, reach);
  const together =
    self === undefined && store.decisionReads?.available === true
      ? await store.decisionReads.read(contactId, b.statuses, b.pressureSince, b.eventsSince, b.lasting)
      : null;
  return contextOf(together ?? (await readApart(store, contactId, now, reach, self)), now);
}

/**
 * What `loadContext` reads for a decision (with `readAhead`, in one statement for many contacts):
 * the bounds and the statuses it reads with. `now` is when the state is read.
 */
export function decisionBounds(now: number, reach: EventReach) {
  return {
    statuses: MESSAGE_PRESSURE,
    pressureSince: now - PRESSURE_DAYS * DAY,
    eventsSince: now - reach.days * DAY,
    lasting: reach.lasting,
  };
}

/**
 * The decision context of a contact's state as read (by `loadContext`, or ahead for a unit of work),
 * for a decision at `now`: a message of its history that went after `now` (claimed by another
 * instance whose clock is a little ahead) counts as gone at `now`; the engine would leave a record
 * dated after its `now` out, and a second promotion would go.
 */
export function contextOf(state: DecisionState, now: number): { contact: StoredContact; context: DecisionContext } {
  const { contact, consent, events } = state;
  const nowIso = new Date(now).toISOString();
  const history = state.history.map((h) => (Date.parse(h.at) > now ? { ...h, at: nowIso } : h));
  const { createdAt: _c, updatedAt: _u, unreachable: _x, ...plain } = contact;
  // the runtime's own records, validated when they came in: defaults filled, not checked again
  const context = trustedDecisionContext({ contact: plain, consent, history, events });
  return { contact, context };
}

/** The same, a statement per part (following merges; `self` left out of the budget). */
async function readApart(
  store: ContextReads,
  contactId: string,
  now: number,
  reach: EventReach,
  self?: { id: string; createdAt: number; priority?: string | undefined },
) {
  const contact = await store.contacts.get(contactId);
  if (contact === null) throw new NotFoundError('CONTACT_NOT_FOUND', `contact ${contactId} not found`);
  const [consent, history, events] = await Promise.all([
    store.consent.of(contact.id),
    store.messages.pressure(contact.id, now - PRESSURE_DAYS * DAY, self),
    store.contactEvents.since(contact.id, now - reach.days * DAY, reach.lasting),
  ]);
  return { contact, consent, history, events };
}
