import type { ConsentRecord, PastEvent, SentRecord } from '@signalbox/engine';
import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import type { ConsentLedgerTable, ContactEventsTable } from '../db/schema.js';
import { FIRST_CLAIM_AT, type PressureRow, sentRecordOf } from '../messages/pressure-record.js';
import { consentRecordOf } from './consent-ledger.js';
import { pastEventOf } from './contact-events.js';
import { type ContactIdentityRow, contactOfRows, type StoredContact } from './contact-record.js';

/** What a decision about a contact reads (see loadContext), read together. */
export interface DecisionState {
  contact: StoredContact;
  consent: ConsentRecord[];
  history: SentRecord[];
  events: PastEvent[];
}

interface Row {
  contact: ContactIdentityRow[];
  consent: Array<Omit<ConsentLedgerTable, 'id' | 'contact_id' | 'recorded_at'>>;
  history: PressureRow[];
  events: Array<Pick<ContactEventsTable, 'type' | 'at' | 'object_type' | 'object_id' | 'data'>>;
}

/**
 * PostgreSQL: the contact with its identities, its consent ledger, what counts against its
 * pressure budget and its recent events in one statement (one round trip instead of four, for
 * every decision), each part the rows its repository's own query reads, as JSON. Null where the
 * contact does not exist or was merged (the caller then reads part by part, following merges);
 * SQLite reads in-process, where a statement costs no round trip: `available` is false there.
 */
export class DecisionReads {
  constructor(private readonly c: Conn) {}

  get available(): boolean {
    return this.c.dialect === 'postgres';
  }

  /** `lasting`: event types read however old (see context.ts `eventReach`). */
  async read(
    contactId: string,
    statuses: readonly string[],
    pressureSince: number,
    eventsSince: number,
    lasting: readonly string[] = [],
  ): Promise<DecisionState | null> {
    return (await this.readMany([contactId], statuses, pressureSince, eventsSince, lasting)).get(contactId) ?? null;
  }

  /**
   * `read` for several contacts in one statement (a unit of work reading ahead for the events it
   * applies, see journeys/read-ahead.ts): each contact's state, as `read` reads it alone; a contact
   * missing or merged is left out.
   */
  async readMany(
    contactIds: readonly string[],
    statuses: readonly string[],
    pressureSince: number,
    eventsSince: number,
    lasting: readonly string[] = [],
  ): Promise<Map<string, DecisionState>> {
    const states = new Map<string, DecisionState>();
    if (contactIds.length === 0) return states;
    const { rows } = await prepared<Row & { id: string }>(
      this.c,
      'decision states',
      (d) => ({
        compile: () =>
          sql<Row & { id: string }>`select x.id,
              (select coalesce(json_agg(json_build_object(
                  'id', c.id, 'data', c.data, 'merged_into', c.merged_into, 'created_at', c.created_at, 'updated_at', c.updated_at,
                  'kind', i.kind, 'value', i.value, 'unreachable_at', i.unreachable_at, 'unreachable_reason', i.unreachable_reason
                ) order by i.kind, i.value), '[]'::json)
                from contacts c left join identities i on i.contact_id = c.id where c.id = x.id) as contact,
              (select coalesce(json_agg(json_build_object(
                  'channel', channel, 'purpose', purpose, 'status', status, 'source', source,
                  'legal_basis', legal_basis, 'evidence', evidence, 'at', at
                ) order by at, id), '[]'::json)
                from consent_ledger where contact_id = x.id) as consent,
              (select coalesce(json_agg(json_build_object('type', type, 'team', team, 'channel', channel, 'created_at', created_at,
                  'status', status, 'priority', request::json ->> 'priority',
                  'claimed_at', ${FIRST_CLAIM_AT})), '[]'::json)
                from messages where contact_id = x.id and status = any(${arg(1)}::text[]) and created_at >= ${arg(2)}) as history,
              (select coalesce(json_agg(json_build_object(
                  'type', type, 'at', at, 'object_type', object_type, 'object_id', object_id, 'data', data
                ) order by at), '[]'::json)
                from (
                  select type, at, object_type, object_id, data from contact_events where contact_id = x.id and at >= ${arg(3)}
                  union all
                  (select distinct on (type, object_type, object_id) type, at, object_type, object_id, data from contact_events
                    where contact_id = x.id and type = any(${arg(4)}::text[]) and at < ${arg(3)}
                    order by type, object_type, object_id, at desc)
                ) e) as events
            from unnest(${arg(0)}::text[]) as x(id)`.compile(d),
      }),
      [[...new Set(contactIds)], statuses, pressureSince, eventsSince, lasting],
    );
    for (const row of rows) {
      const first = row.contact[0];
      if (first === undefined || first.merged_into !== null) continue;
      states.set(row.id, {
        contact: contactOfRows(row.contact),
        consent: row.consent.map(consentRecordOf),
        history: row.history.map(sentRecordOf),
        events: row.events.map(pastEventOf),
      });
    }
    return states;
  }
}
