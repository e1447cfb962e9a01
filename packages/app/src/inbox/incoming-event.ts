import type { CrmEvent, IdentityKind } from '@signalbox/engine';
import type { ContactFields } from '../contacts/contact-data.js';

/** An event as the API or a source's step hands it over: in our vocabulary, the contact not resolved yet. */
export interface IncomingEvent {
  id: string;
  source: CrmEvent['source'];
  type: string;
  occurredAt: string;
  /** By id, or by identities with the contact's fields to update (time zone, market, vulnerable, attributes, …). */
  contact?:
    | ({
        id?: string | undefined;
        identities?: Array<{ kind: IdentityKind; value: string }> | undefined;
      } & Partial<ContactFields>)
    | undefined;
  object?: { type: string; id: string } | undefined;
  data?: Record<string, unknown> | undefined;
}
