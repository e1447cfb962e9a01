import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/models/Filter.js';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/communications/models/AssociationSpec.js';
import { HubspotApiError, type HubspotGateway } from './gateway.js';

/** The contact properties Signalbox reads. */
export const CONTACT_PROPERTIES = [
  'email',
  'phone',
  'mobilephone',
  'hs_whatsapp_phone_number',
  'firstname',
  'lastname',
  'hs_timezone',
  'lastmodifieddate',
];

export interface HubspotContact {
  id: string;
  properties: Record<string, string | null | undefined>;
  updatedAt: string;
}

/** Our identities from a HubSpot contact (the CRM id is always one of them). */
export function identitiesOf(c: HubspotContact): Array<{ kind: 'hubspot' | 'email' | 'phone' | 'whatsapp'; value: string }> {
  const out: Array<{ kind: 'hubspot' | 'email' | 'phone' | 'whatsapp'; value: string }> = [{ kind: 'hubspot', value: c.id }];
  const p = c.properties;
  if (p.email) out.push({ kind: 'email', value: p.email });
  const phone = p.mobilephone || p.phone;
  if (phone && /^\+\d{6,15}$/.test(phone.replace(/[\s().-]/g, ''))) out.push({ kind: 'phone', value: phone.replace(/[\s().-]/g, '') });
  const wa = p.hs_whatsapp_phone_number;
  if (wa && /^\+\d{6,15}$/.test(wa.replace(/[\s().-]/g, ''))) out.push({ kind: 'whatsapp', value: wa.replace(/[\s().-]/g, '') });
  return out;
}

/** HubSpot's Communications channel types; other channels are logged as notes. */
const COMMUNICATION_CHANNEL: Record<string, string> = { sms: 'SMS', whatsapp: 'WHATS_APP' };
/** HUBSPOT_DEFINED association types (SDK AssociationTypes): communication→contact 81, note→contact 202. */
const COMMUNICATION_TO_CONTACT = 81;
const NOTE_TO_CONTACT = 202;

/** The properties Signalbox keeps on each contact, in its own group. */
export const SIGNALBOX_GROUP = { name: 'signalbox', label: 'Signalbox', displayOrder: -1 };
export const SIGNALBOX_PROPERTIES = [
  { name: 'signalbox_preferred_channel', label: 'Preferred channel', type: 'string', fieldType: 'text' },
  { name: 'signalbox_reachable_channels', label: 'Reachable channels', type: 'string', fieldType: 'text' },
  { name: 'signalbox_consent_summary', label: 'Consent summary', type: 'string', fieldType: 'textarea' },
  { name: 'signalbox_last_decision', label: 'Last decision reason', type: 'string', fieldType: 'textarea' },
  { name: 'signalbox_messages_30d', label: 'Messages (30 days)', type: 'number', fieldType: 'number' },
  { name: 'signalbox_cost_30d', label: 'Messaging cost (30 days)', type: 'number', fieldType: 'number' },
] as const;

/** The CRM operations Signalbox needs, all through the gateway (limiter, tokens). */
export class HubspotCrm {
  constructor(readonly gateway: HubspotGateway) {}

  async getContact(portalId: number, id: string): Promise<HubspotContact | null> {
    try {
      const c = await this.gateway.call(portalId, (cl) => cl.crm.contacts.basicApi.getById(id, CONTACT_PROPERTIES));
      return { id: c.id, properties: c.properties, updatedAt: c.updatedAt.toISOString() };
    } catch (e) {
      if (e instanceof HubspotApiError && e.status === 404) return null;
      throw e;
    }
  }

  /** The contacts associated with a ticket, deal or invoice. */
  async contactsOf(portalId: number, objectType: string, objectId: string): Promise<string[]> {
    if (objectType === 'contact') return [objectId];
    try {
      const o = await this.gateway.call(portalId, (cl) =>
        cl.crm.objects.basicApi.getById(objectType, objectId, undefined, undefined, ['contacts']),
      );
      return (o.associations?.contacts?.results ?? []).map((r) => r.id);
    } catch (e) {
      if (e instanceof HubspotApiError && e.status === 404) return [];
      throw e;
    }
  }

  /** One page of all contacts (100, ordered by id): the initial sync. */
  async contactsPage(portalId: number, after: string | undefined): Promise<{ contacts: HubspotContact[]; next: string | undefined }> {
    const r = await this.gateway.call(portalId, (cl) => cl.crm.contacts.basicApi.getPage(100, after, CONTACT_PROPERTIES));
    return {
      contacts: r.results.map((c) => ({ id: c.id, properties: c.properties, updatedAt: c.updatedAt.toISOString() })),
      next: r.paging?.next?.after,
    };
  }

  /** How many contacts the portal holds (search's `total`; one search call). */
  async contactTotal(portalId: number): Promise<number> {
    const r = await this.gateway.call(
      portalId,
      (cl) => cl.crm.contacts.searchApi.doSearch({ filterGroups: [], sorts: [], properties: ['hs_object_id'], limit: 1 }),
      'search',
    );
    return r.total;
  }

  /**
   * Contacts modified since `since` (the repair sweep), oldest first, 200 per page. Search stops at
   * 10,000 results, so the caller moves `since` forward rather than paging past it.
   */
  async modifiedSince(
    portalId: number,
    since: number,
    after: string | undefined,
  ): Promise<{ contacts: HubspotContact[]; next: string | undefined }> {
    const r = await this.gateway.call(
      portalId,
      (cl) =>
        cl.crm.contacts.searchApi.doSearch({
          filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: FilterOperatorEnum.Gte, value: String(since) }] }],
          sorts: ['lastmodifieddate'],
          properties: CONTACT_PROPERTIES,
          limit: 200,
          ...(after === undefined ? {} : { after }),
        }),
      'search',
    );
    const next = r.paging?.next?.after;
    return {
      contacts: r.results.map((c) => ({ id: c.id, properties: c.properties, updatedAt: c.updatedAt.toISOString() })),
      next: next !== undefined && Number(next) < 10_000 ? next : undefined,
    };
  }

  /** Logs a message on the contact's timeline: a Communication (SMS, WhatsApp) or a labelled note. */
  async logMessage(
    portalId: number,
    m: { contactId: string; channel: string; body: string; at: number; ownerId?: string },
  ): Promise<{ id: string; kind: 'communication' | 'note' }> {
    const type = COMMUNICATION_CHANNEL[m.channel];
    const timestamp = new Date(m.at).toISOString();
    if (type !== undefined) {
      const r = await this.gateway.call(portalId, (cl) =>
        cl.crm.objects.communications.basicApi.create({
          properties: {
            hs_communication_channel_type: type,
            hs_communication_logged_from: 'CRM',
            hs_communication_body: m.body,
            hs_timestamp: timestamp,
            ...(m.ownerId ? { hubspot_owner_id: m.ownerId } : {}),
          },
          associations: [
            {
              to: { id: m.contactId },
              types: [
                { associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: COMMUNICATION_TO_CONTACT },
              ],
            },
          ],
        }),
      );
      return { id: r.id, kind: 'communication' };
    }
    const r = await this.gateway.call(portalId, (cl) =>
      cl.crm.objects.notes.basicApi.create({
        properties: { hs_note_body: `[Signalbox · ${m.channel}] ${m.body}`, hs_timestamp: timestamp },
        associations: [
          {
            to: { id: m.contactId },
            types: [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: NOTE_TO_CONTACT }],
          },
        ],
      }),
    );
    return { id: r.id, kind: 'note' };
  }

  /** Rewrites a message logged before (its outcome moved on: delivered, read, failed). */
  async updateLogged(
    portalId: number,
    logged: { id: string; kind: 'communication' | 'note'; channel: string; body: string },
  ): Promise<void> {
    if (logged.kind === 'communication')
      await this.gateway.call(portalId, (cl) =>
        cl.crm.objects.communications.basicApi.update(logged.id, { properties: { hs_communication_body: logged.body } }),
      );
    else
      await this.gateway.call(portalId, (cl) =>
        cl.crm.objects.notes.basicApi.update(logged.id, { properties: { hs_note_body: `[Signalbox · ${logged.channel}] ${logged.body}` } }),
      );
  }

  async updateContact(portalId: number, id: string, properties: Record<string, string>): Promise<void> {
    await this.gateway.call(portalId, (cl) => cl.crm.contacts.basicApi.update(id, { properties }));
  }

  /** Creates the `signalbox` property group and its properties (install); existing ones are kept. */
  async ensureProperties(portalId: number): Promise<void> {
    const exists = (e: unknown) => e instanceof HubspotApiError && e.status === 409;
    try {
      await this.gateway.call(portalId, (cl) => cl.crm.properties.groupsApi.create('contacts', SIGNALBOX_GROUP));
    } catch (e) {
      if (!exists(e)) throw e;
    }
    for (const p of SIGNALBOX_PROPERTIES) {
      try {
        await this.gateway.call(portalId, (cl) =>
          cl.crm.properties.coreApi.create('contacts', {
            name: p.name,
            label: p.label,
            type: p.type as never,
            fieldType: p.fieldType as never,
            groupName: SIGNALBOX_GROUP.name,
            formField: false,
          }),
        );
      } catch (e) {
        if (!exists(e)) throw e;
      }
    }
  }

  /** Completes a blocked custom workflow action with its output fields. */
  async completeCallback(portalId: number, callbackId: string, outputFields: Record<string, string>): Promise<void> {
    await this.gateway.call(portalId, (cl) => cl.automation.actions.callbacksApi.complete(callbackId, { outputFields }));
  }
}
