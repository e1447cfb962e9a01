/**
 * What a new HubSpot portal knows before anyone customises it, for the object types the fake
 * serves: their names and aliases, the HubSpot-defined properties a write may name (with the
 * options of the enumerations Signalbox writes), and the HUBSPOT_DEFINED association types,
 * taken from the SDK's own `AssociationTypes`.
 */
import { AssociationTypes } from '@hubspot/api-client';

export const OBJECT_TYPES = ['contacts', 'tickets', 'deals', 'invoices', 'communications', 'notes'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

const ALIASES: Record<string, ObjectType> = {
  contact: 'contacts',
  '0-1': 'contacts',
  ticket: 'tickets',
  '0-5': 'tickets',
  deal: 'deals',
  '0-3': 'deals',
  invoice: 'invoices',
  '0-53': 'invoices',
  communication: 'communications',
  '0-18': 'communications',
  note: 'notes',
  '0-46': 'notes',
};

export function objectType(raw: string): ObjectType | undefined {
  return (OBJECT_TYPES as readonly string[]).includes(raw) ? (raw as ObjectType) : ALIASES[raw];
}

/** HubSpot's name for the type in association errors and labels (CONTACT, COMMUNICATION, …). */
export const singular = (t: ObjectType) => t.replace(/s$/, '');

/** Every object has these; HubSpot sets them, a write may not. */
const READ_ONLY = ['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate', 'hs_createdate'];

const COMMON = [...READ_ONLY, 'hubspot_owner_id', 'hs_timestamp'];

/** HubSpot-defined properties a write may name (a subset of each type's hundreds: the ones in use here). */
export const DEFAULT_PROPERTIES: Record<ObjectType, readonly string[]> = {
  contacts: [
    ...COMMON,
    'email',
    'firstname',
    'lastname',
    'phone',
    'mobilephone',
    'hs_whatsapp_phone_number',
    'hs_timezone',
    'company',
    'jobtitle',
    'lifecyclestage',
    'hs_language',
    'country',
    'city',
  ],
  tickets: [...COMMON, 'subject', 'content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_priority', 'hs_ticket_category'],
  deals: [...COMMON, 'dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'dealtype'],
  invoices: [...COMMON, 'hs_invoice_status', 'hs_currency', 'hs_due_date', 'hs_amount_billed', 'hs_balance_due', 'hs_number'],
  communications: [...COMMON, 'hs_communication_channel_type', 'hs_communication_logged_from', 'hs_communication_body'],
  notes: [...COMMON, 'hs_note_body', 'hs_attachment_ids'],
};

/** Options of HubSpot-defined enumerations a write is checked against. */
export const ENUMERATIONS: Partial<Record<ObjectType, Record<string, readonly string[]>>> = {
  communications: {
    hs_communication_channel_type: ['SMS', 'WHATS_APP', 'LINKEDIN_MESSAGE'],
    hs_communication_logged_from: ['CRM'],
  },
};

/** HUBSPOT_DEFINED association type id → the types it goes from and to (`communicationToContact` = 81). */
export const ASSOCIATION_TYPES: ReadonlyMap<number, { from: ObjectType; to: ObjectType }> = new Map(
  Object.entries(AssociationTypes).flatMap(([name, id]) => {
    const m = /^([a-z]+)To([A-Z][a-zA-Z]*)$/.exec(name);
    const from = m ? objectType(m[1] as string) : undefined;
    const to = m ? objectType((m[2] as string).toLowerCase()) : undefined;
    return typeof id === 'number' && from && to ? [[id, { from, to }] as const] : [];
  }),
);
