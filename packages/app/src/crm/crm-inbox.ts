import { type CrmConnector, HubspotApiError, OrgDisabledError, PortalDisabledError, SalesforceApiError } from '@signalbox/connectors';
import type { CompiledRuleset } from '@signalbox/engine';
import type { InboxRow } from '../inbox/inbox-repository.js';
import { type InboxSource, PermanentFailure, type Prepared } from '../inbox/inbox-source.js';
import type { IncomingEvent } from '../inbox/incoming-event.js';
import type { CrmPeople, PeopleStore } from './crm-people.js';

/**
 * A CRM's step in the one inbox, run by the worker outside any transaction: the connector splits a
 * delivery into its changes (each then succeeds or fails on its own) or maps a change through the
 * current event map; the people it is about are resolved through the CRM (a ticket's contacts, a
 * case's) — calls made through the account's limiter.
 */
export class CrmInbox implements InboxSource {
  readonly source: string;

  constructor(
    private readonly d: {
      connector: CrmConnector;
      people: CrmPeople;
      store: PeopleStore;
      ruleset: () => CompiledRuleset;
    },
  ) {
    this.source = d.connector.crm;
  }

  async prepare(row: InboxRow): Promise<Prepared> {
    try {
      const p = this.d.connector.prepare({ type: row.type, key: row.eventId, payload: row.payload }, this.d.ruleset().source.eventMap);
      if (p.kind === 'split')
        return {
          kind: 'split',
          entries: p.items.map((i) => ({
            source: this.source,
            eventId: i.key,
            type: i.type,
            stage: 'raw',
            payload: i.payload,
            ...(i.lane !== undefined ? { lane: i.lane } : {}),
          })),
        };
      // a change that carried no values: the record is read again (a person, stored with what the CRM says now)
      for (const r of p.reread) {
        const person = await this.d.connector.getPerson(r.account, r.record);
        if (person !== null && !person.deleted) await this.d.people.store(this.d.store, person);
      }
      const events: IncomingEvent[] = [];
      for (const e of p.events) {
        const contactIds = await this.d.people.contactsOf(this.d.store, e.account, e.record);
        for (const contactId of contactIds)
          events.push({
            id: contactIds.length === 1 ? e.event.id : `${e.event.id}:${contactId}`,
            source: e.event.source,
            type: e.event.type,
            occurredAt: e.event.occurredAt,
            contact: { id: contactId },
            ...(e.event.object ? { object: e.event.object } : {}),
            data: e.event.data,
          });
      }
      if (events.length > 0) return { kind: 'events', events };
      return {
        kind: 'ignore',
        note: p.ignored ?? `no contact for ${this.source} ${p.events.map((e) => `${e.record.type} ${e.record.id}`).join(', ')}`,
      };
    } catch (err) {
      throw permanentIfFinal(err);
    }
  }
}

/**
 * Failures retrying cannot mend: the account uninstalled us (or revoked its tokens), the CRM
 * refuses the call for good (a scope the portal declined, a record we may not read).
 */
export function permanentIfFinal(err: unknown): unknown {
  if (err instanceof PortalDisabledError || err instanceof OrgDisabledError) return new PermanentFailure((err as Error).message);
  if (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401)
    return new PermanentFailure(`HubSpot answered ${err.status} ${err.category}: ${err.message}`);
  if (err instanceof SalesforceApiError && !RETRYABLE_SALESFORCE.has(err.errorCode) && !/^ERROR_HTTP_5/.test(err.errorCode))
    return new PermanentFailure(`Salesforce answered ${err.errorCode}: ${err.message}`);
  if ((err as { name?: string }).name === 'CrmPayloadError') return new PermanentFailure((err as Error).message);
  return err;
}

/** Salesforce errors a later try can get past (a session to refresh, a limit, a lock, an outage). */
const RETRYABLE_SALESFORCE = new Set([
  'INVALID_SESSION_ID',
  'REQUEST_LIMIT_EXCEEDED',
  'SERVER_UNAVAILABLE',
  'UNABLE_TO_LOCK_ROW',
  'QUERY_TIMEOUT',
]);
