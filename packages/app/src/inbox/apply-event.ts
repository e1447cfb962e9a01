import type { Clock } from '../clock.js';
import type { Unit } from '../delivery/unit.js';
import { NotFoundError } from '../errors.js';
import type { JourneyEvent, JourneyStore, Journeys } from '../journeys/journeys.js';
import type { ReadAhead } from '../journeys/read-ahead.js';
import type { IncomingEvent } from './incoming-event.js';

/**
 * Applies one event in our vocabulary: its contact resolved (by id, or by identities, creating the
 * contact), the event recorded on the contact (suppression windows and the timeline read it), and
 * journeys moved and started.
 */
export class EventApplier {
  constructor(private readonly d: { journeys: Journeys; clock: Clock }) {}

  /**
   * Applies one event; `prepared`: what `prepare` did for the unit's events (recorded this one on
   * its contact already, read ahead for it).
   */
  async apply(u: Unit<JourneyStore>, e: IncomingEvent, prepared?: PreparedEvents): Promise<void> {
    const contactId = await this.contactOf(u, e);
    await u.store.contacts.lock(contactId);
    if (prepared?.recorded.has(e) !== true) await u.store.contactEvents.record(contactId, recordOf(e));
    await this.d.journeys.onEvent(u, journeyEventOf(e, contactId), prepared?.ahead);
  }

  /**
   * What a unit of work about to apply these events (in order) can do for all of them at once: lock
   * the contacts they name, in one statement, and record on its contact each event that is its
   * contact's only one in the unit (nothing applied before it could change what it is recorded
   * on). Returns the events recorded; `apply` then skips that step. The same as applying them one
   * by one, with two statements for the unit instead of two for each event (PostgreSQL). Then
   * what starting their journeys takes is done ahead for those events (see Journeys.readAhead):
   * four statements more for the unit instead of four more for each.
   */
  async prepare(u: Unit<JourneyStore>, events: readonly IncomingEvent[]): Promise<PreparedEvents> {
    const recorded = new Set<IncomingEvent>();
    const none = { recorded, ahead: null };
    const ids = events.flatMap((e) => (e.contact?.id !== undefined ? [e.contact.id] : []));
    if (ids.length < 2) return none;
    const merged = await u.store.contacts.lockMany(ids);
    // only where every event names a current contact and stays with it: an event found by its
    // identities, or naming a contact merged into another, may turn out to be about a contact
    // another event names, and one that moves journeys keyed on its object may send to another
    // contact (the event applied first must not see a later one's record)
    if (ids.length < events.length || ids.some((id) => merged.get(id) !== null) || events.some((e) => this.d.journeys.mayMoveOthers(e)))
      return none;
    const count = new Map<string, number>();
    for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
    const alone = events.filter((e) => count.get(e.contact?.id as string) === 1);
    await u.store.contactEvents.recordMany(alone.map((e) => ({ contactId: e.contact?.id as string, e: recordOf(e) })));
    for (const e of alone) recorded.add(e);
    const ahead = await this.d.journeys.readAhead(
      u,
      alone.map((e) => journeyEventOf(e, e.contact?.id as string)),
      events.filter((e) => !recorded.has(e)).map((e) => journeyEventOf(e, e.contact?.id as string)),
    );
    return { recorded, ahead };
  }

  private async contactOf(u: Unit<JourneyStore>, e: IncomingEvent): Promise<string> {
    if (e.contact?.id !== undefined) {
      // resolved and locked in one go (the lock below is then already held)
      const id = await u.store.contacts.lockCurrent(e.contact.id);
      if (id !== null) return id;
    }
    if (e.contact?.identities !== undefined && e.contact.identities.length > 0) {
      // the event's word on the contact (its time zone, market, vulnerable flag, attributes) is
      // applied as the API's contact upsert applies it
      const { id: _id, identities, ...fields } = e.contact;
      // as of when the event happened: one arriving after a newer word on the contact leaves its fields
      const now = this.d.clock.now().getTime();
      const at = Date.parse(e.occurredAt);
      return (await u.store.contacts.upsert({ ...fields, identities }, now, Number.isFinite(at) ? at : now)).contact.id;
    }
    throw new NotFoundError('CONTACT_NOT_FOUND', `event ${e.id}: contact not found`);
  }
}

/** What `EventApplier.prepare` did for a unit's events. */
export interface PreparedEvents {
  /** Recorded on their contacts already. */
  recorded: ReadonlySet<IncomingEvent>;
  /** What their journeys' starts take, done ahead (null: nothing was). */
  ahead: ReadAhead | null;
}

/** An event as journeys see it. */
function journeyEventOf(e: IncomingEvent, contactId: string): JourneyEvent {
  return { id: `${e.source}:${e.id}`, type: e.type, occurredAt: e.occurredAt, data: e.data ?? {}, contactId, object: e.object };
}

/** An event as recorded on its contact. */
function recordOf(e: IncomingEvent) {
  return { id: `${e.source}:${e.id}`, type: e.type, at: Date.parse(e.occurredAt), object: e.object, data: e.data ?? {} };
}
