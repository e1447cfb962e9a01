import type { Clock } from '../clock.js';
import type { Unit } from '../delivery/unit.js';
import { NotFoundError } from '../errors.js';
import type { JourneyStore, Journeys } from '../journeys/journeys.js';
import type { IncomingEvent } from './incoming-event.js';

/**
 * Applies one event in our vocabulary: its contact resolved (by id, or by identities, creating the
 * contact), the event recorded on the contact (suppression windows and the timeline read it), and
 * journeys moved and started.
 */
export class EventApplier {
  constructor(private readonly d: { journeys: Journeys; clock: Clock }) {}

  async apply(u: Unit<JourneyStore>, e: IncomingEvent): Promise<void> {
    const contactId = await this.contactOf(u, e);
    await u.store.contacts.lock(contactId);
    const id = `${e.source}:${e.id}`;
    await u.store.contactEvents.record(contactId, { id, type: e.type, at: Date.parse(e.occurredAt), object: e.object, data: e.data ?? {} });
    await this.d.journeys.onEvent(u, { id, type: e.type, occurredAt: e.occurredAt, data: e.data ?? {}, contactId, object: e.object });
  }

  private async contactOf(u: Unit<JourneyStore>, e: IncomingEvent): Promise<string> {
    if (e.contact?.id !== undefined) {
      // resolved and locked in one go (the lock below is then already held)
      const id = await u.store.contacts.lockCurrent(e.contact.id);
      if (id !== null) return id;
    }
    if (e.contact?.identities !== undefined && e.contact.identities.length > 0)
      return (await u.store.contacts.upsert({ identities: e.contact.identities }, this.d.clock.now().getTime())).contact.id;
    throw new NotFoundError('CONTACT_NOT_FOUND', `event ${e.id}: contact not found`);
  }
}
