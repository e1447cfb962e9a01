import { createHash } from 'node:crypto';
import {
  HubspotApiError,
  type HubspotWebhookEvent,
  normaliseHubspotEvents,
  PortalDisabledError,
  validateHubspotWebhookBatch,
} from '@signalbox/connectors';
import type { CompiledRuleset } from '@signalbox/engine';
import type { ContactRepository } from '../../contacts/contact-repository.js';
import type { InboxRow } from '../../inbox/inbox-repository.js';
import { type InboxSource, PermanentFailure, type Prepared } from '../../inbox/inbox-source.js';
import type { IncomingEvent } from '../../inbox/incoming-event.js';
import { type HubspotContacts, hubspotIdentity } from './hubspot-contacts.js';

/**
 * HubSpot's events in the one inbox, each a raw event of source `hubspot`:
 * - `hubspot.delivery`: a Webhooks API delivery as it came (the hot path stores it whole, before
 *   the 200); its step splits it into one `hubspot.event` per change;
 * - `hubspot.event`: one change; its step maps it through the current `eventMap.hubspot` and
 *   resolves its contacts (through HubSpot's associations for tickets, deals, invoices);
 * - `hubspot.workflow`: a "Send a webhook" workflow action (the event is named in its URL).
 */
export const HUBSPOT_DELIVERY = 'hubspot.delivery';
export const HUBSPOT_EVENT = 'hubspot.event';
export const HUBSPOT_WORKFLOW = 'hubspot.workflow';

/** A "Send a webhook" workflow delivery, as stored. */
export interface WorkflowDelivery {
  portalId: number;
  objectType: string;
  objectId: string;
  event: string;
  occurredAt: string;
}

/**
 * What identifies one change: HubSpot says `eventId` is "not guaranteed to be unique", so two
 * different changes may share one. Portal, subscription type, object, property name and value,
 * when it happened (and a merge's ids) identify the change; HubSpot's retries of it (another
 * `attemptNumber`, another delivery) carry the same and collapse into one.
 */
export function changeKey(e: HubspotWebhookEvent): string {
  const identity = [
    e.subscriptionType,
    e.objectTypeId ?? null,
    e.objectId,
    e.propertyName ?? null,
    e.propertyValue ?? null,
    e.changeFlag ?? null,
    e.occurredAt,
    e.primaryObjectId ?? null,
    e.mergedObjectIds ?? null,
  ];
  return `${e.portalId}:${createHash('sha256').update(JSON.stringify(identity)).digest('base64url').slice(0, 32)}`;
}

/**
 * The HubSpot source's step, run by the worker outside any transaction: it may call HubSpot (for
 * a contact the sync has not reached, or the contacts of a ticket), through the portal's limiter.
 */
export class HubspotInbox implements InboxSource {
  readonly source = 'hubspot';

  constructor(
    private readonly d: {
      contacts: HubspotContacts;
      /** Where contacts are looked up and stored (the runtime's store). */
      store: { contacts: ContactRepository };
      ruleset: () => CompiledRuleset;
    },
  ) {}

  async prepare(row: InboxRow): Promise<Prepared> {
    try {
      if (row.type === HUBSPOT_DELIVERY) return this.split(row.payload);
      if (row.type === HUBSPOT_EVENT) return await this.event(row.payload as HubspotWebhookEvent);
      if (row.type === HUBSPOT_WORKFLOW) return await this.workflow(row.eventId, row.payload as WorkflowDelivery);
      throw new PermanentFailure(`unknown HubSpot inbox event type "${row.type}"`);
    } catch (err) {
      throw permanentIfFinal(err);
    }
  }

  private split(payload: unknown): Prepared {
    const events = validateHubspotWebhookBatch(payload);
    return {
      kind: 'split',
      entries: events.map((e) => ({ source: 'hubspot', eventId: changeKey(e), type: HUBSPOT_EVENT, stage: 'raw', payload: e })),
    };
  }

  private async event(raw: HubspotWebhookEvent): Promise<Prepared> {
    const { events, unmapped } = normaliseHubspotEvents([raw], this.d.ruleset().source.eventMap);
    const e = events[0];
    if (e === undefined || unmapped.length > 0) return { kind: 'ignore', note: `not in the event map: ${raw.subscriptionType}` };
    const data = e.data as { portalId: number; subscriptionType: string; objectId: number };
    const objectType = data.subscriptionType.split('.')[0] as string;
    const objectId = String(data.objectId);
    let contactIds: string[];
    if (e.type === 'contact.deleted' && objectType === 'contact') {
      const local = await this.d.store.contacts.findByIdentity('hubspot', hubspotIdentity(data.portalId, objectId));
      contactIds = local === null ? [] : [local.id];
    } else if (e.type === 'contact.merged' || objectType === 'contact') {
      const id = await this.d.contacts.contactFor(this.d.store.contacts, data.portalId, objectId);
      contactIds = id === null ? [] : [id];
    } else contactIds = await this.resolveAll(data.portalId, objectType, objectId);
    return this.toEvents(changeKey(raw), e.type, e.occurredAt, data.portalId, objectType, objectId, e.data, contactIds);
  }

  private async workflow(id: string, w: WorkflowDelivery): Promise<Prepared> {
    const contactIds =
      w.objectType === 'contact'
        ? await (async () => {
            const c = await this.d.contacts.contactFor(this.d.store.contacts, w.portalId, w.objectId);
            return c === null ? [] : [c];
          })()
        : await this.resolveAll(w.portalId, w.objectType, w.objectId);
    const data = { portalId: w.portalId, subscriptionType: `${w.objectType}.workflow`, objectId: Number(w.objectId) };
    return this.toEvents(`${w.portalId}:${id}`, w.event, w.occurredAt, w.portalId, w.objectType, w.objectId, data, contactIds);
  }

  private async resolveAll(portalId: number, objectType: string, objectId: string): Promise<string[]> {
    const out: string[] = [];
    for (const h of await this.d.contacts.contactsOf(portalId, objectType, objectId)) {
      const id = await this.d.contacts.contactFor(this.d.store.contacts, portalId, h);
      if (id !== null) out.push(id);
    }
    return out;
  }

  /** One event per contact the record has (none: nothing to apply). */
  private toEvents(
    id: string,
    type: string,
    occurredAt: string,
    portalId: number,
    objectType: string,
    objectId: string,
    data: Record<string, unknown>,
    contactIds: readonly string[],
  ): Prepared {
    if (contactIds.length === 0) return { kind: 'ignore', note: `no contact for HubSpot ${objectType} ${objectId}` };
    const events: IncomingEvent[] = contactIds.map((contactId) => ({
      id: contactIds.length === 1 ? id : `${id}:${contactId}`,
      source: 'hubspot',
      type,
      occurredAt,
      contact: { id: contactId },
      object: { type: objectType, id: `hubspot:${portalId}:${objectId}` },
      data,
    }));
    return { kind: 'events', events };
  }
}

/**
 * Failures retrying cannot mend: the portal uninstalled us (or revoked its tokens), HubSpot
 * refuses the call for good (a scope the portal declined, a record we may not read).
 */
export function permanentIfFinal(err: unknown): unknown {
  if (err instanceof PortalDisabledError) return new PermanentFailure(err.message);
  if (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401)
    return new PermanentFailure(`HubSpot answered ${err.status} ${err.category}: ${err.message}`);
  return err;
}
