import { type HubspotContact, type HubspotCrm, identitiesOf } from '@signalbox/connectors';
import { type CompiledRuleset, isValidTimeZone } from '@signalbox/engine';
import type { ContactRepository, ContactUpsert } from '../../contacts/contact-repository.js';
import { marketOfPhone } from '../markets.js';

/** Our identity value for a HubSpot record: portal and id (ids are only unique within a portal). */
export const hubspotIdentity = (portalId: number | string, id: string) => `${portalId}:${id}`;

/** Our contact record from HubSpot's: identities, time zone, and the market the phone number dials. */
export function contactFromHubspot(portalId: number, c: HubspotContact, rs: CompiledRuleset): ContactUpsert {
  const identities = identitiesOf(c).map((i) => (i.kind === 'hubspot' ? { ...i, value: hubspotIdentity(portalId, i.value) } : i));
  const tz = c.properties.hs_timezone;
  const phone = identities.find((i) => i.kind === 'phone')?.value;
  const market = phone === undefined ? undefined : marketOfPhone(phone, Object.keys(rs.source.markets));
  return {
    identities,
    // a zone HubSpot holds that no time zone database knows is left out (decisions use the market's)
    ...(tz && isValidTimeZone(tz) ? { timezone: tz } : {}),
    ...(market ? { market } : {}),
  };
}

/**
 * HubSpot's contacts as ours: found by their HubSpot identity, or fetched from HubSpot and stored
 * (a webhook or a workflow can name a contact the sync has not reached yet).
 */
export class HubspotContacts {
  constructor(
    private readonly d: {
      crm: HubspotCrm;
      ruleset: () => CompiledRuleset;
      now: () => number;
    },
  ) {}

  /** Our contact behind a HubSpot contact id: ours if synced, else fetched and stored now; null if HubSpot has none. */
  async contactFor(contacts: ContactRepository, portalId: number, hubspotId: string): Promise<string | null> {
    const local = await contacts.findByIdentity('hubspot', hubspotIdentity(portalId, hubspotId));
    if (local !== null) return local.id;
    const c = await this.d.crm.getContact(portalId, hubspotId);
    return c === null ? null : this.upsert(contacts, portalId, c);
  }

  /** Stores (creates, updates or merges) a HubSpot contact; returns our id. */
  async upsert(contacts: ContactRepository, portalId: number, c: HubspotContact): Promise<string> {
    return (await contacts.upsert(contactFromHubspot(portalId, c, this.d.ruleset()), this.d.now())).contact.id;
  }

  /** The HubSpot contacts associated with a record (a contact is its own). */
  contactsOf(portalId: number, objectType: string, objectId: string): Promise<string[]> {
    return this.d.crm.contactsOf(portalId, objectType === 'contact' ? 'contact' : `${objectType}s`, objectId);
  }
}
