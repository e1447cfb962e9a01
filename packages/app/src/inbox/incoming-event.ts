import type { CrmEvent, IdentityKind } from '@signalbox/engine';

/** An event as the API or a source's step hands it over: in our vocabulary, the contact not resolved yet. */
export interface IncomingEvent {
  id: string;
  source: CrmEvent['source'];
  type: string;
  occurredAt: string;
  contact?:
    | {
        id?: string | undefined;
        identities?: Array<{ kind: IdentityKind; value: string }> | undefined;
      }
    | undefined;
  object?: { type: string; id: string } | undefined;
  data?: Record<string, unknown> | undefined;
}
